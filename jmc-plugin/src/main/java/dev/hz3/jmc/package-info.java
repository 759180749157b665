/**
 * JDK Mission Control plug-in for hz3's JFR events, and bin/hz3-report.
 *
 * <ul>
 * <li>{@link dev.hz3.jmc.Hz3Attributes}: every hz3 event type and field the plug-in names, in one
 * place;</li>
 * <li>{@code dev.hz3.jmc.census}: the events of a recording as plain values (censuses, process
 * memory, glibc samples), read with JMC's parser;</li>
 * <li>{@code dev.hz3.jmc.rules}: the rules JMC runs (one rule, one class; texts in
 * messages.properties), registered in META-INF/services and announced in plugin.xml;</li>
 * <li>{@code dev.hz3.jmc.report}: the HTML report and its command line.</li>
 * </ul>
 * The pages are pages.xml alone: JMC's generic event page with presets. See docs/jmc.md.
 */
package dev.hz3.jmc;

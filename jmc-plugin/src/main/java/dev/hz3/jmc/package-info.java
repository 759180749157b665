/**
 * JDK Mission Control plug-in for hz3's JFR events: automated-analysis rules and a page listing
 * the events. Nothing is here yet; the module is wired into the build so that later work only
 * adds code.
 */
package dev.hz3.jmc;

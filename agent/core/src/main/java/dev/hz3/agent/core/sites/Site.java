package dev.hz3.agent.core.sites;

import dev.hz3.jfr.Hz3Events;

/**
 * Where native memory is attributed: the first frame outside the JDK, the JDK method it called,
 * and the kind of allocation. One instance per distinct (kind, entry, site), interned by the
 * sampler; {@code lastLive} is the estimate of the previous hz3.NativeSite, for its growth.
 */
final class Site {
    /** The id hz3 knows this site by (its samples are relabelled to it): 1, 2, ... */
    final long id;
    final String site;
    final String entry;
    /** NativeAllocHooks' kind number. */
    final int kindCode;
    double lastLive;

    Site(long id, String site, String entry, int kindCode) {
        this.id = id;
        this.site = site;
        this.entry = entry;
        this.kindCode = kindCode;
    }

    /**
     * The kind's name, as the events say it. Looked up, not kept: Hz3Events loads every hz3
     * event class, which must not happen before JFR is up (see {@link SiteSampler#eventsReady}).
     */
    String kind() {
        return Hz3Events.NATIVE_KINDS.get(kindCode);
    }
}

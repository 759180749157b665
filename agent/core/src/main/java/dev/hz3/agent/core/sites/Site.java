package dev.hz3.agent.core.sites;

/**
 * Where native memory is attributed: the first frame outside the JDK, the JDK method it called,
 * and the kind of allocation. One instance per distinct (kind, entry, site), interned by the
 * sampler; {@code lastLive} is the estimate of the previous hz3.NativeSite, for its growth.
 */
final class Site {
    /** The id hz3 knows this site by (its samples are relabelled to it): 1, 2, ... */
    final long id;
    final String key;
    final String site;
    final String entry;
    final String kind;
    double lastLive;

    Site(long id, String key, String site, String entry, String kind) {
        this.id = id;
        this.key = key;
        this.site = site;
        this.entry = entry;
        this.kind = kind;
    }
}

package dev.hz3.agent.core.sites;

/** One sampled block not freed yet: where it came from, what it weighs, since when. */
final class Sample {
    final long address;
    final long size;
    /** Bytes this sample stands for: size / P(sampled) = size / (1 - exp(-size / sampleBytes)). */
    final double weight;
    final Site site;
    final long nanoTime;

    Sample(long address, long size, double weight, Site site, long nanoTime) {
        this.address = address;
        this.size = size;
        this.weight = weight;
        this.site = site;
        this.nanoTime = nanoTime;
    }
}

package dev.hz3.agent.core.sites;

/**
 * A sampled call's site as its walk finds it, before it is described: the site frame's class,
 * method and line, the JDK method it called (class and name), and the kind. Every part is a
 * string the frame holds already (the JVM fills them, method names interned), so a site seen
 * before is found with nothing built: describing a site (the strings joined) costs more than
 * looking it up. Classes of one name in two loaders, at the same method and line, share a key:
 * their description is the same too.
 */
final class SiteKey {
    private final String className;
    private final String methodName;
    private final int line;
    private final String entryClass;
    private final String entryMethod;
    private final int kind;
    private final int hash;

    /** entry: the JDK frame the site called, or null. */
    SiteKey(StackTraceElement site, StackTraceElement entry, int kind) {
        this(site.getClassName(), site.getMethodName(), site.getLineNumber(),
                entry == null ? null : entry.getClassName(), entry == null ? null : entry.getMethodName(),
                kind);
    }

    SiteKey(String className, String methodName, int line, String entryClass, String entryMethod,
            int kind) {
        this.className = className;
        this.methodName = methodName;
        this.line = line;
        this.entryClass = entryClass;
        this.entryMethod = entryMethod;
        this.kind = kind;
        int h = className.hashCode() * 31 + methodName.hashCode();
        h = h * 31 + line;
        h = h * 31 + (entryClass == null ? 0 : entryClass.hashCode());
        h = h * 31 + (entryMethod == null ? 0 : entryMethod.hashCode());
        this.hash = h * 31 + kind;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SiteKey)) {
            return false;
        }
        SiteKey k = (SiteKey) o;
        return hash == k.hash && line == k.line && kind == k.kind && className.equals(k.className)
                && methodName.equals(k.methodName) && same(entryClass, k.entryClass)
                && same(entryMethod, k.entryMethod);
    }

    private static boolean same(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }
}

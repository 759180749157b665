package dev.hz3.agent.core.sites;

/**
 * A sampled call's site as its walk finds it, before it is described: the site frame's class,
 * method and bytecode index, the class of the JDK method it called, and the kind. Not that
 * method's name: reading a frame's method name is a call into the JVM, and the bytecode index
 * names the call already (an invoke instruction names its method; only its class varies with
 * the receiver). Every part is what the
 * walk reads anyway (class names are kept by their Class, method names are the JVM's interned
 * strings), so a site seen before is found with nothing built: describing a frame (its line
 * number, the strings) costs more than the walk. Classes of one name in two loaders, at the
 * same method and index, share a key: their description is the same too.
 */
final class SiteKey {
    private final String className;
    private final String methodName;
    private final int bci;
    private final String entryClass;
    private final int kind;
    private final int hash;

    SiteKey(String className, String methodName, int bci, String entryClass, int kind) {
        this.className = className;
        this.methodName = methodName;
        this.bci = bci;
        this.entryClass = entryClass;
        this.kind = kind;
        int h = className.hashCode() * 31 + methodName.hashCode();
        h = h * 31 + bci;
        h = h * 31 + (entryClass == null ? 0 : entryClass.hashCode());
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
        return hash == k.hash && bci == k.bci && kind == k.kind && className.equals(k.className)
                && methodName.equals(k.methodName) && same(entryClass, k.entryClass);
    }

    private static boolean same(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }
}

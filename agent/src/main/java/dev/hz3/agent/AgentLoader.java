package dev.hz3.agent;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.List;

/**
 * The class loader of the agent's core and its inner jars; its parent is the platform class
 * loader, so it never sees the application's classes. Byte Buddy (4.6 MB, used only by native
 * attribution) is not among the jars extracted at start: the first time a class or resource of
 * {@code net.bytebuddy} is asked for and not found in them (attribution being turned on), this
 * loader extracts it ({@link PrivateDir#extractDeferredJars}) and adds it. A JVM that never
 * turns attribution on neither unpacks nor loads it.
 */
final class AgentLoader extends URLClassLoader {

    static {
        registerAsParallelCapable();
    }

    private static final String DEFERRED_PACKAGE = "net.bytebuddy.";

    private final Path agentJar;
    private final Path privateDir;
    private boolean deferredAdded;
    private String deferredFailed;

    AgentLoader(List<Path> jars, Path agentJar, Path privateDir) throws MalformedURLException {
        super("hz3-agent", urls(jars), ClassLoader.getPlatformClassLoader());
        this.agentJar = agentJar;
        this.privateDir = privateDir;
    }

    private static URL[] urls(List<Path> jars) throws MalformedURLException {
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < urls.length; i++) {
            urls[i] = jars.get(i).toUri().toURL();
        }
        return urls;
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        try {
            return super.findClass(name);
        } catch (ClassNotFoundException notYet) {
            if (!name.startsWith(DEFERRED_PACKAGE)) {
                throw notYet;
            }
            if (!addDeferred()) {
                throw new ClassNotFoundException(name + ": " + deferredFailed);
            }
            return super.findClass(name);
        }
    }

    @Override
    public URL findResource(String name) {
        URL u = super.findResource(name);
        if (u == null && name.startsWith(DEFERRED_PACKAGE.replace('.', '/')) && addDeferred()) {
            u = super.findResource(name);
        }
        return u;
    }

    /** Extracts and adds the deferred jars once; whether they are there. */
    private synchronized boolean addDeferred() {
        if (!deferredAdded && deferredFailed == null) {
            try {
                for (Path p : PrivateDir.extractDeferredJars(agentJar, privateDir)) {
                    addURL(p.toUri().toURL());
                }
                deferredAdded = true;
            } catch (IOException | RuntimeException e) {
                deferredFailed = "Byte Buddy could not be extracted from " + agentJar + ": " + e;
            }
        }
        return deferredAdded;
    }
}

package dev.hz3.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlTest {

    @TempDir
    Path dir;

    /** One socket per JVM, named in the property; requests run before send returns. */
    @Test
    void requestsRunInTheAgentAndSendWaitsForThem() throws Exception {
        Path stale = Files.createFile(dir.resolve("control-999999999.sock"));   // no such pid
        List<String> got = new CopyOnWriteArrayList<>();
        Control.start(dir, got::add);
        Path socket = Path.of(System.getProperty(Control.PROPERTY));
        assertEquals(dir.resolve("control-" + ProcessHandle.current().pid() + ".sock"), socket);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertFalse(Files.exists(stale), "a killed JVM's socket is removed");

        assertTrue(Control.send(socket, "purge,reply=/x"));
        assertTrue(Control.send(socket, "top=3,reply=/y"));
        assertEquals(List.of("purge,reply=/x", "top=3,reply=/y"), got);

        Control.start(dir.resolve("elsewhere"), got::add);   // once per JVM
        assertEquals(socket.toString(), System.getProperty(Control.PROPERTY));
        assertFalse(Control.send(dir.resolve("nobody.sock"), "purge"), "no one listens: not sent");
    }
}

package dev.hz3.jfr;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough of a C header reader for hz3.h: its structs (fields in order, with their type and
 * array length) and enums (members in order, with their values). Used by the "keep in sync"
 * tests here and in the agent (as a test-jar).
 */
public final class CHeader {

    /** One declared field: {@code type name[count]}; count is null for a scalar. */
    public record Field(String type, String name, String count) {
        public boolean isArray() {
            return count != null;
        }
    }

    private final Map<String, List<Field>> structs = new LinkedHashMap<>();
    private final Map<String, Map<String, Long>> enums = new LinkedHashMap<>();
    private final Map<String, String> defines = new LinkedHashMap<>();

    private CHeader() {
    }

    /** native-hz3/include/hz3.h, found from the module's basedir (or the working directory). */
    public static Path hz3Header() {
        Path base = Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
                .toAbsolutePath();
        for (Path p = base; p != null; p = p.getParent()) {
            Path h = p.resolve("native-hz3/include/hz3.h");
            if (Files.isRegularFile(h)) {
                return h;
            }
        }
        throw new IllegalStateException("no native-hz3/include/hz3.h above " + base);
    }

    public static CHeader parse(Path header) throws IOException {
        String text = Files.readString(header)
                .replaceAll("(?s)/\\*.*?\\*/", " ")
                .replaceAll("//[^\n]*", " ");
        CHeader h = new CHeader();
        Matcher d = Pattern.compile("(?m)^\\s*#define\\s+(\\w+)\\s+(.+?)\\s*$").matcher(text);
        while (d.find()) {
            h.defines.put(d.group(1), d.group(2));
        }
        Matcher s = Pattern.compile("struct\\s+(\\w+)\\s*\\{([^}]*)\\}\\s*;").matcher(text);
        while (s.find()) {
            List<Field> fields = new ArrayList<>();
            for (String decl : s.group(2).split(";")) {
                // volatile says how C reads a field, not what the field is: a mirror ignores it
                decl = decl.trim().replaceAll("\\s+", " ").replaceAll("\\bvolatile ", "");
                if (decl.isEmpty()) {
                    continue;
                }
                Matcher m = Pattern.compile("^((?:const )?(?:struct )?\\w+\\s*\\*?)\\s*(.*)$")
                        .matcher(decl);
                if (!m.matches()) {
                    throw new IllegalStateException("cannot read field declaration: " + decl);
                }
                String type = m.group(1).trim();
                for (String var : m.group(2).split(",")) {
                    Matcher a = Pattern.compile("^\\s*(\\w+)\\s*(?:\\[\\s*(\\w+)\\s*\\])?\\s*$")
                            .matcher(var);
                    if (!a.matches()) {
                        throw new IllegalStateException("cannot read declarator: " + var);
                    }
                    fields.add(new Field(type, a.group(1), a.group(2)));
                }
            }
            h.structs.put(s.group(1), fields);
        }
        Matcher e = Pattern.compile("enum\\s+(\\w+)\\s*\\{([^}]*)\\}").matcher(text);
        while (e.find()) {
            Map<String, Long> members = new LinkedHashMap<>();
            long next = 0;
            for (String item : e.group(2).split(",")) {
                item = item.trim();
                if (item.isEmpty()) {
                    continue;
                }
                String[] kv = item.split("=");
                long v = kv.length > 1 ? Long.decode(kv[1].trim()) : next;
                members.put(kv[0].trim(), v);
                next = v + 1;
            }
            h.enums.put(e.group(1), members);
        }
        return h;
    }

    public List<Field> struct(String name) {
        List<Field> f = structs.get(name);
        if (f == null) {
            throw new IllegalArgumentException("hz3.h has no struct " + name);
        }
        return f;
    }

    public Map<String, Long> enumMembers(String name) {
        Map<String, Long> m = enums.get(name);
        if (m == null) {
            throw new IllegalArgumentException("hz3.h has no enum " + name);
        }
        return m;
    }

    public String define(String name) {
        String v = defines.get(name);
        if (v == null) {
            throw new IllegalArgumentException("hz3.h has no #define " + name);
        }
        return v;
    }

    public long defineNumber(String name) {
        return Long.decode(define(name));
    }

    /**
     * The enum whose members include countName (e.g. HZ3_PS_COUNT), as its other members'
     * names without their common prefix, lower case, in value order: ["untouched", ...].
     */
    public List<String> enumSuffixesFor(String countName) {
        for (Map<String, Long> members : enums.values()) {
            if (members.containsKey(countName)) {
                String prefix = countName.substring(0, countName.length() - "COUNT".length());
                List<String> out = new ArrayList<>();
                members.entrySet().stream()
                        .filter(m -> !m.getKey().equals(countName))
                        .sorted(Map.Entry.comparingByValue())
                        .forEach(m -> out.add(m.getKey().substring(prefix.length())
                                .toLowerCase()));
                return out;
            }
        }
        throw new IllegalArgumentException("no enum has a member " + countName);
    }

    /**
     * The struct's fields with each enum-indexed array expanded to one name per member
     * ({@code pages[HZ3_PS_COUNT]} to pages_untouched, ...); char arrays are strings. Other arrays with a numeric or #define
     * length, and nested structs, are left out and returned in skipped.
     */
    public List<String> expandedFieldNames(String struct, List<String> skipped) {
        List<String> names = new ArrayList<>();
        for (Field f : struct(struct)) {
            if (!f.isArray() || f.type().equals("char")) {
                names.add(f.name());   // char[N] is a string
            } else if (f.count().endsWith("_COUNT")) {
                for (String suffix : enumSuffixesFor(f.count())) {
                    names.add(f.name() + "_" + suffix);
                }
            } else {
                skipped.add(f.name());
            }
        }
        return names;
    }
}

package dev.hz3.jmc.census;

import java.util.HashMap;
import java.util.Map;

import org.openjdk.jmc.common.IMCThread;
import org.openjdk.jmc.common.item.IAttribute;
import org.openjdk.jmc.common.item.IItem;
import org.openjdk.jmc.common.item.IMemberAccessor;
import org.openjdk.jmc.common.item.IType;
import org.openjdk.jmc.common.unit.ContentType;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.flightrecorder.JfrAttributes;

import dev.hz3.jmc.Hz3Attributes;

/**
 * Reads the fields of one event type by name, whatever content type JMC gave them.
 *
 * <p>JMC 9.1.2 reads an unannotated {@code long} field as a raw {@link Number} and an {@code int}
 * field as an {@link IQuantity} (a "number"); {@code @DataAmount} fields are byte quantities,
 * {@code @Percentage} fractions, {@code @Timespan} durations. Looking a field up by identifier and
 * converting whichever value comes keeps the rules working when jfr-events changes a field between
 * {@code long} and {@code int}. A field the type does not have reads as 0 (or "" or false): an
 * older recording simply lacks it, and {@code EventNamesTest} makes sure we never misspell one.
 * A field renamed since ({@link Hz3Attributes#OCC_BUCKETS_BEFORE}) is read under its new name
 * from a recording that has only the old one.
 */
public final class Fields {

    private final IType<IItem> type;
    private final Map<String, IMemberAccessor<?, IItem>> accessors = new HashMap<>();
    private final IMemberAccessor<IQuantity, IItem> endTime;

    public Fields(IType<IItem> type) {
        this.type = type;
        for (IAttribute<?> a : type.getAttributes()) {
            IMemberAccessor<?, IItem> accessor = a.getAccessor(type);
            if (accessor != null) {
                accessors.putIfAbsent(a.getIdentifier(), accessor);
            }
        }
        for (int b = 0; b < Hz3Attributes.OCC_BUCKETS.size(); b++) {
            IMemberAccessor<?, IItem> before = accessors.get(Hz3Attributes.OCC_BUCKETS_BEFORE.get(b));
            if (before != null) {
                accessors.putIfAbsent(Hz3Attributes.OCC_BUCKETS.get(b), before);
            }
        }
        this.endTime = JfrAttributes.END_TIME.getAccessor(type);
    }

    public IType<IItem> type() {
        return type;
    }

    public boolean has(String field) {
        return accessors.containsKey(field);
    }

    /** The event's end time in nanoseconds since 1970 (its time, for instant events). */
    public long timeNanos(IItem item) {
        IQuantity t = endTime == null ? null : endTime.getMember(item);
        return t == null ? 0 : t.clampedLongValueIn(UnitLookup.EPOCH_NS);
    }

    private Object raw(IItem item, String field) {
        IMemberAccessor<?, IItem> a = accessors.get(field);
        return a == null ? null : a.getMember(item);
    }

    /**
     * A whole number: a count, or a quantity in its base unit (bytes, nanoseconds for spans and
     * for time stamps since 1970).
     */
    public long count(IItem item, String field) {
        Object v = raw(item, field);
        if (v instanceof IQuantity) {
            IQuantity q = (IQuantity) v;
            ContentType<?> ct = q.getUnit().getContentType();
            if (ct == UnitLookup.MEMORY) {
                return q.clampedLongValueIn(UnitLookup.BYTE);
            } else if (ct == UnitLookup.TIMESPAN) {
                return q.clampedLongValueIn(UnitLookup.NANOSECOND);
            } else if (ct == UnitLookup.TIMESTAMP) {
                return q.clampedLongValueIn(UnitLookup.EPOCH_NS);
            }
            return q.longValue();
        } else if (v instanceof Number) {
            return ((Number) v).longValue();
        }
        return 0;
    }

    /** Bytes of a {@code @DataAmount} field (a plain number is taken as bytes). */
    public long bytes(IItem item, String field) {
        return count(item, field);
    }

    /** Milliseconds of a {@code @Timespan} field. */
    public long millis(IItem item, String field) {
        Object v = raw(item, field);
        if (v instanceof IQuantity && ((IQuantity) v).getUnit().getContentType() == UnitLookup.TIMESPAN) {
            return ((IQuantity) v).clampedLongValueIn(UnitLookup.MILLISECOND);
        }
        return count(item, field);
    }

    /** A {@code @Percentage} field as a fraction (0.25 for 25%). */
    public double fraction(IItem item, String field) {
        Object v = raw(item, field);
        if (v instanceof IQuantity) {
            IQuantity q = (IQuantity) v;
            if (q.getUnit().getContentType() == UnitLookup.PERCENTAGE) {
                return q.doubleValueIn(UnitLookup.PERCENT_UNITY);
            }
            return q.doubleValue();
        } else if (v instanceof Number) {
            return ((Number) v).doubleValue();
        }
        return 0;
    }

    public String text(IItem item, String field) {
        Object v = raw(item, field);
        if (v == null) {
            return "";
        } else if (v instanceof IMCThread) {
            return ((IMCThread) v).getThreadName();
        }
        return v.toString();
    }

    public boolean flag(IItem item, String field) {
        Object v = raw(item, field);
        return v instanceof Boolean && (Boolean) v;
    }
}

package dev.hz3.jmc.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RunnableFuture;

import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.util.IPreferenceValueProvider;
import org.openjdk.jmc.flightrecorder.rules.IResult;
import org.openjdk.jmc.flightrecorder.rules.IResultValueProvider;
import org.openjdk.jmc.flightrecorder.rules.IRule;
import org.openjdk.jmc.flightrecorder.rules.ResultBuilder;
import org.openjdk.jmc.flightrecorder.rules.Severity;
import org.openjdk.jmc.flightrecorder.rules.TypedCollectionResult;
import org.openjdk.jmc.flightrecorder.rules.TypedResult;
import org.openjdk.jmc.flightrecorder.rules.util.RulesToolkit;

/**
 * The hz3 rules, and how to run them outside JMC the way JMC's engine does: a rule whose
 * required events the recording lacks is not run and gives "not applicable". JMC itself finds
 * the rules through META-INF/services (keep the two lists in step: {@code RuleRegistrationTest}).
 */
public final class Hz3Rules {

    private Hz3Rules() {
    }

    /** New instances of every hz3 rule, in the order reports list them. */
    public static List<IRule> all() {
        return List.of(new NativeHeapFragmentationRule(), new ReturnableNativeMemoryRule(),
                new SizeClassHotSpotsRule(), new GlibcHeapRule(), new NativeMemoryGrowthRule(),
                new PinnedNativePagesRule());
    }

    /** Every hz3 rule's result on items, in the order of {@link #all()}; never throws. */
    public static List<IResult> evaluate(IItemCollection items, IPreferenceValueProvider vp) {
        List<IResult> results = new ArrayList<>();
        for (IRule rule : all()) {
            results.add(evaluate(rule, items, vp));
        }
        return results;
    }

    /** One rule's result on items, as JMC's engine would give it; never throws. */
    public static IResult evaluate(IRule rule, IItemCollection items, IPreferenceValueProvider vp) {
        IPreferenceValueProvider prefs = vp == null ? IPreferenceValueProvider.DEFAULT_VALUES : vp;
        if (!RulesToolkit.matchesEventAvailabilityMap(items, rule.getRequiredEvents())) {
            return RulesToolkit.getNotApplicableResult(rule, prefs,
                    Messages.format("General_MISSING_EVENTS", String.join(", ", rule.getRequiredEvents().keySet())));
        }
        try {
            RunnableFuture<IResult> f = rule.createEvaluation(items, prefs, NO_RESULTS);
            f.run();
            return f.get();
        } catch (Exception | LinkageError e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return ResultBuilder.createFor(rule, prefs).setSeverity(Severity.NA)
                    .setSummary(Messages.format("General_FAILED", cause.toString())).build();
        }
    }

    private static final IResultValueProvider NO_RESULTS = new IResultValueProvider() {
        @Override
        public <T> T getResultValue(TypedResult<T> result) {
            return null;
        }

        @Override
        public <T> java.util.Collection<T> getResultValue(TypedCollectionResult<T> result) {
            return null;
        }

        @Override
        public TypedResult<?> getResultByIdentifier(String identifier) {
            return null;
        }
    };
}

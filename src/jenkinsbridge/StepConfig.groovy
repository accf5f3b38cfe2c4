package jenkinsbridge

import com.cloudbees.groovy.cps.NonCPS

/**
 * The keys each step declares (resources/jenkinsbridge/steps.json, the one source of the keys,
 * their defaults and the vars/*.txt help), and the checks a step's config must pass.
 * Pure helpers: no step is called here, and nothing the Groovy sandbox forbids (no getClass,
 * no JSON classes: the steps parse JSON with readJSON).
 */
class StepConfig implements Serializable {

    private static final long serialVersionUID = 1L
    private static final Map<String, Class> TYPES = [
        String: CharSequence, Boolean: Boolean, Integer: Integer, List: List,
    ]

    /** The first problem of ``config`` for ``step`` (unknown key, missing key, wrong type), or null. */
    @NonCPS
    static String problem(Map table, String step, Map config) {
        Map keys = (Map) table.steps[step].keys
        for (Object key in config.keySet()) {
            if (!keys.containsKey(key)) {
                return step + ": unknown key '" + key + "' (known: " + keys.keySet().sort().join(', ') + ')'
            }
        }
        for (Map.Entry entry in keys.entrySet()) {
            Map spec = (Map) entry.value
            Object value = config[entry.key]
            if (spec.required && value == null) {
                return step + ": missing required key '" + entry.key + "'"
            }
            if (value != null && !(value in TYPES[spec.type])) {
                return step + ": key '" + entry.key + "' must be a " + spec.type
            }
        }
        return null
    }

    /** The library version the steps expect of the CLI. */
    @NonCPS
    static String version(Map table) {
        return (String) table.version
    }

    /** A value of the resolved descriptor by path, e.g. ['image', 'credentialsId'], or null. */
    @NonCPS
    static Object lookup(Map data, List<String> path) {
        Object current = data
        for (String key in path) {
            if (!(current in Map)) {
                return null
            }
            current = ((Map) current)[key]
        }
        return current
    }

    /** ``name=value`` entries for withEnv; a null value is left out (the variable stays unset). */
    @NonCPS
    static List<String> environment(Map values) {
        List<String> entries = []
        for (Map.Entry entry in values.entrySet()) {
            if (entry.value != null) {
                entries.add(entry.key + '=' + entry.value)
            }
        }
        return entries
    }

}

package jenkinsbridge

import com.cloudbees.groovy.cps.NonCPS

/**
 * The keys each step declares (resources/jenkinsbridge/steps.json, the one source of the keys,
 * their defaults and the vars/*.txt help), and the checks a step's config must pass.
 * Pure helpers: no step is called here, and nothing the Groovy sandbox forbids (no getClass,
 * no JSON classes: the steps parse JSON with readJSON). Types are checked with ``instanceof``,
 * never ``value in SomeClass``: the sandbox turns ``in`` into ``isCase(Class, Object)``, which
 * no stock whitelist allows (a folder library is untrusted, so it runs in the sandbox).
 */
// instanceof is how the sandbox lets a step check a type (see above), so CodeNarc's
// Instanceof rule (prefer polymorphism) does not apply to these config checks
@SuppressWarnings('Instanceof')
class StepConfig implements Serializable {

    private static final long serialVersionUID = 1L

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
            if (value != null && !hasType(value, (String) spec.type)) {
                return step + ": key '" + entry.key + "' must be a " + spec.type
            }
        }
        return null
    }

    /** Whether ``value`` is of the key table's ``type`` (a GString is a String). */
    @NonCPS
    private static boolean hasType(Object value, String type) {
        if (type == 'String') {
            return value instanceof CharSequence
        }
        if (type == 'Boolean') {
            return value instanceof Boolean
        }
        if (type == 'Integer') {
            return value instanceof Integer
        }
        if (type == 'List') {
            return value instanceof List
        }
        return false
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
            if (!(current instanceof Map)) {
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

    /**
     * Every secret (``[env:, credentialsId:]``) the resolved descriptor binds for ``environment``:
     * the app's and each companion's under ``runtime``, and any its ``deploy[]`` entry adds.
     * The CLI refuses to start a container whose secret has no value, so a deploy or rollback
     * must bind them all. One binding per variable (the first wins).
     */
    @NonCPS
    static List<Map> secrets(Map data, String environment) {
        Map<String, Map> found = [:]
        // The environment's own settings first: its runtime override of a secret (another
        // credentials ID for the same variable) is the one its deploy reads.
        for (Object target in (data.deploy instanceof List ? (List) data.deploy : [])) {
            if (target instanceof Map && ((Map) target).environment == environment) {
                collectSecrets(target, found)
            }
        }
        collectSecrets(data.runtime, found)
        return new ArrayList<Map>(found.values())
    }

    @NonCPS
    private static void collectSecrets(Object node, Map<String, Map> found) {
        if (node instanceof List) {
            for (Object item in (List) node) {
                collectSecrets(item, found)
            }
            return
        }
        if (!(node instanceof Map)) {
            return
        }
        Map map = (Map) node
        if (map.secrets instanceof List) {
            for (Object item in (List) map.secrets) {
                Map secret = item instanceof Map ? (Map) item : [:]
                if (secret.env && secret.credentialsId && !found.containsKey(secret.env)) {
                    String variable = secret.env
                    found[variable] = [env: variable, credentialsId: (String) secret.credentialsId]
                }
            }
        }
        for (Object value in map.values()) {
            if (value instanceof Map || value instanceof List) {
                collectSecrets(value, found)
            }
        }
    }

    /**
     * ``text`` with every value of the ``variables`` (bound by withCredentials, read from
     * ``env`` while they are bound) replaced by ``****``, as it is and as JSON writes it.
     * Called inside the withCredentials block, so the values live only in this call and never
     * in the program workflow-cps saves; Jenkins masks them in the console, but not in an error
     * message, the build description or an archived file.
     */
    @NonCPS
    static String redacted(String text, Object env, List<String> variables) {
        String result = text
        for (String name in variables) {
            String value = env.getProperty(name)
            if (value) {
                result = result.replace(value, '****')
                    .replace(jsonEscaped(value, true), '****').replace(jsonEscaped(value, false), '****')
            }
        }
        return result
    }

    /**
     * ``value`` as JSON writes it inside a string: with every character outside printable
     * ASCII as ``\\uXXXX`` (``ascii``, Python's json.dumps) or only control characters so.
     */
    @NonCPS
    private static String jsonEscaped(String value, boolean ascii) {
        StringBuilder out = new StringBuilder()
        for (int i = 0; i < value.length(); i++) {
            String c = value.substring(i, i + 1)
            int code = (int) value.charAt(i)   // UTF-16 units, as JSON escapes them
            if (c == '"' || c == '\\') {
                out.append('\\' + c)
            } else if (c == '\n') {
                out.append('\\n')
            } else if (c == '\r') {
                out.append('\\r')
            } else if (c == '\t') {
                out.append('\\t')
            } else if (code < 0x20 || (ascii && code > 0x7e)) {
                out.append(String.format('\\u%04x', code))
            } else {
                out.append(c)
            }
        }
        return out.toString()
    }

    /** The entries of ``data`` named in ``keys``, in that order (those present only). */
    @NonCPS
    static Map only(Map data, List<String> keys) {
        Map kept = [:]
        for (String key in keys) {
            if (data.containsKey(key)) {
                kept[key] = data[key]
            }
        }
        return kept
    }

}

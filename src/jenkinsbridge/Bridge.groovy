package jenkinsbridge

import com.cloudbees.groovy.cps.NonCPS

/**
 * What every step does around the CLI: check the config against the declared keys, put the
 * descriptor in a file, run one constant shell line with every value in the environment, and
 * read the CLI's JSON result. Values never become shell or Groovy text.
 */
class Bridge implements Serializable {

    static final String RESOLVED_FILE = '.jenkins-bridge-resolved.json'
    static final String RESULT_FILE = '.jenkins-bridge-result.json'
    private static final long serialVersionUID = 1L

    private final Object script
    private final String step
    private Map table

    Bridge(Object script, String step) {
        this.script = script
        this.step = step
    }

    /** The step's config, checked: an unknown, missing or mistyped key stops the build. */
    Map checked(Map config) {
        table = (Map) script.readJSON(text: script.libraryResource('jenkinsbridge/steps.json'))
        String problem = StepConfig.problem(table, step, config)
        if (problem != null) {
            script.error(problem)
        }
        return config
    }

    String libraryVersion() {
        return StepConfig.version(table)
    }

    /** The descriptor file the CLI reads: the resolved descriptor written beside ``descriptor``. */
    String descriptorFile(Map config) {
        String descriptor = config.descriptor ?: 'jenkins-bridge.yaml'
        if (config.resolved == null) {
            return descriptor
        }
        int slash = descriptor.lastIndexOf('/')
        String path = slash < 0 ? RESOLVED_FILE : descriptor.substring(0, slash + 1) + RESOLVED_FILE
        script.writeFile(file: path, text: config.resolved)
        return path
    }

    /** The resolved descriptor's data (for credentials IDs), or an empty map without one. */
    Map descriptorData(Map config) {
        return config.resolved == null ? [:] : (Map) script.readJSON(text: config.resolved)
    }

    /**
     * Runs ``command`` (a constant shell line reading $BRIDGE_* variables) with ``values`` in
     * the environment and ``credentials`` (withCredentials bindings) bound for that command
     * only; returns [status: exit code, result: the JSON envelope or null, text: its text].
     */
    Map run(String command, Map values, List credentials = []) {
        Map all = [BRIDGE_CLI: script.bridgeSetup(), BRIDGE_RESULT: RESULT_FILE] + values
        int status = 0
        script.withEnv(StepConfig.environment(all)) {
            script.sh(script: 'rm -f "$BRIDGE_RESULT"', label: 'jenkins-bridge result')
            if (credentials) {
                script.withCredentials(credentials) {
                    status = script.sh(script: command, returnStatus: true)
                }
            } else {
                status = script.sh(script: command, returnStatus: true)
            }
        }
        Map result = null
        String text = script.fileExists(RESULT_FILE) ? script.readFile(RESULT_FILE) : ''
        if (text.trim()) {
            result = (Map) script.readJSON(text: text)
        }
        return [status: status, result: result, text: text]
    }

    /** Fails the build with the CLI's own messages when it did not succeed. */
    Map require(Map outcome, String what) {
        if (outcome.status != 0) {
            script.error(step + ': ' + what + ' failed (exit ' + outcome.status + ')' + messages(outcome.result))
        }
        return (Map) outcome.result?.data ?: [:]
    }

    @NonCPS
    private static String messages(Map result) {
        List errors = (List) result?.errors ?: []
        return errors ? ': ' + errors.collect { Map e -> e.message }.join('; ') : ''
    }

}

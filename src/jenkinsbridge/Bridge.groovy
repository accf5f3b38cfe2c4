package jenkinsbridge

import com.cloudbees.groovy.cps.NonCPS

/**
 * What every step does around the CLI: check the config against the declared keys, put the
 * descriptor in a file, run one constant shell line with every value in the environment, and
 * read the CLI's JSON result. Values never become shell or Groovy text.
 *
 * JSON is read with ``returnPojo: true`` (pipeline-utility-steps 2.4+): plain maps, lists and
 * null. Without it readJSON answers JSON null with ``JSONNull``, which Groovy treats as true
 * and prints as "null".
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
        table = (Map) script.readJSON(text: script.libraryResource('jenkinsbridge/steps.json'), returnPojo: true)
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
        return config.resolved == null ? [:] : (Map) script.readJSON(text: config.resolved, returnPojo: true)
    }

    /**
     * withCredentials bindings for ``secrets`` (``[env:, credentialsId:]``, string credentials)
     * and the variables they bind, for ``run``.
     */
    Map secretBindings(List<Map> secrets) {
        List bindings = []
        List<String> variables = []
        for (Map secret in secrets) {
            bindings.add(script.string(credentialsId: secret.credentialsId, variable: secret.env))
            variables.add((String) secret.env)
        }
        return [bindings: bindings, variables: variables]
    }

    /**
     * Runs ``command`` (a constant shell line reading $BRIDGE_* variables) with ``values`` in
     * the environment and ``credentials`` (withCredentials bindings of the ``secretVariables``)
     * bound for that command only; returns [status: exit code, result: the JSON envelope or
     * null, text: its text]. The CLI's output may quote a secret (a failing hook prints what
     * it got): while they are bound, every bound value is redacted from the result, which
     * later goes into error messages, the description and archived files, where Jenkins'
     * console masking does not apply.
     */
    Map run(String command, Map values, List credentials = [], List<String> secretVariables = []) {
        Map all = [BRIDGE_CLI: script.bridgeSetup(), BRIDGE_RESULT: RESULT_FILE] + values
        int status = 0
        String text = ''
        script.withEnv(StepConfig.environment(all)) {
            script.sh(script: 'rm -f "$BRIDGE_RESULT"', label: 'jenkins-bridge result')
            if (credentials) {
                script.withCredentials(credentials) {
                    status = script.sh(script: command, returnStatus: true)
                    text = StepConfig.redacted(resultText(), script.env, secretVariables)
                }
            } else {
                status = script.sh(script: command, returnStatus: true)
                text = resultText()
            }
        }
        Map result = null
        if (text.trim()) {
            result = (Map) script.readJSON(text: text, returnPojo: true)
        }
        return [status: status, result: result, text: text]
    }

    private String resultText() {
        return script.fileExists(RESULT_FILE) ? script.readFile(RESULT_FILE) : ''
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

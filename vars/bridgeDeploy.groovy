import jenkinsbridge.Bridge
import jenkinsbridge.StepConfig

// Deploys one environment; a rollback (exit 3) fails the build (or marks it unstable).
Map call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgeDeploy')
    bridge.checked(config)
    String onRollback = config.onRollback ?: 'FAILURE'
    if (!(onRollback in ['FAILURE', 'UNSTABLE'])) {
        error("bridgeDeploy: onRollback must be 'FAILURE' or 'UNSTABLE'")
    }
    String environment = config.environment
    Map values = [
        BRIDGE_DESCRIPTOR_FILE: bridge.descriptorFile(config),
        BRIDGE_ENVIRONMENT: environment,
        BRIDGE_IMAGE_REF: config.image ?: env.BRIDGE_IMAGE_REF,
        BRIDGE_TIMEOUT: config.timeout == null ? null : config.timeout.toString(),
    ]
    if (!values.BRIDGE_IMAGE_REF) {
        error('bridgeDeploy: no image to deploy: run bridgePush first, or give image')
    }
    // the app's and every companion's secrets: the CLI starts no container missing one
    Map secrets = bridge.secretBindings(StepConfig.secrets(bridge.descriptorData(config), environment))
    Map outcome = bridge.run('"$BRIDGE_CLI" --output json deploy "$BRIDGE_DESCRIPTOR_FILE" ' +
        '--env "$BRIDGE_ENVIRONMENT" --image "$BRIDGE_IMAGE_REF" ${BRIDGE_TIMEOUT:+--timeout "$BRIDGE_TIMEOUT"} ' +
        '> "$BRIDGE_RESULT"', values, (List) secrets.bindings, (List) secrets.variables)
    // deploy's JSON: {result, record: {digest, previous, ...}, steps}
    Map data = (Map) outcome.result?.data ?: [:]
    Map record = (Map) data.record ?: [:]
    if (record) {
        // Only the record's identifiers: hook and companion output (steps, detail, errors)
        // may quote a secret, and an artifact is not masked like the console.
        writeJSON(file: "deploy-${environment}.json",
            json: [status: outcome.result.status, record: StepConfig.only(record, RECORD_FIELDS)])
        archiveArtifacts(artifacts: "deploy-${environment}.json")
    }
    if (outcome.status == 3) {
        String serving = record.previous ? "${record.previous} is serving" : 'no earlier version was serving'
        String message = "bridgeDeploy: ${environment}: the new version ${rollbackCause(data)} and " +
            "was rolled back; ${serving}"
        currentBuild.description = message
        if (onRollback == 'UNSTABLE') {
            unstable(message)
            return data
        }
        error(message)
    }
    bridge.require(outcome, "deploy to ${environment}")
    // What went live is the digest the CLI resolved, not the reference it was given (a tag moves).
    currentBuild.description = "${environment}: ${record.digest ?: values.BRIDGE_IMAGE_REF} live"
    return data
}

// Why deploy rolled back: the canary step whose analysis did not pass (data.canary.results,
// in order), else the health gate. A plain loop: CPS runs closures passed to Groovy's own
// methods (find) wrongly.
private static String rollbackCause(Map data) {
    Map canary = (Map) data.canary ?: [:]
    List results = (List) canary.results ?: []
    for (Object result in results) {
        Map step = (Map) result
        if (step.outcome != 'pass') {
            return "failed its canary analysis at step ${step.step} (${step.percent} %)"
        }
    }
    return 'failed its health check'
}

// What deploy-<environment>.json keeps of the CLI's deploy record (never its free text).
@groovy.transform.Field
static final List<String> RECORD_FIELDS = [
    'seq', 'action', 'environment', 'image', 'digest', 'container', 'previous', 'result', 'started',
    'duration_seconds', 'build_url', 'git_commit', 'descriptor_sha256', 'downtime_seconds',
    'switched_after_seconds',
]

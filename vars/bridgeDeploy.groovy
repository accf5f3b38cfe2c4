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
    List secrets = (List) StepConfig.lookup(bridge.descriptorData(config), ['runtime', 'secrets']) ?: []
    List bindings = []
    for (Map secret in secrets) {
        bindings.add(string(credentialsId: secret.credentialsId, variable: secret.env))
    }
    Map outcome = bridge.run('"$BRIDGE_CLI" --output json deploy "$BRIDGE_DESCRIPTOR_FILE" ' +
        '--env "$BRIDGE_ENVIRONMENT" --image "$BRIDGE_IMAGE_REF" ${BRIDGE_TIMEOUT:+--timeout "$BRIDGE_TIMEOUT"} ' +
        '> "$BRIDGE_RESULT"', values, bindings)
    // deploy's JSON: {result, record: {digest, previous, ...}, steps}
    Map data = (Map) outcome.result?.data ?: [:]
    Map record = (Map) data.record ?: [:]
    if (outcome.result != null) {
        writeFile(file: "deploy-${environment}.json", text: outcome.text)
        archiveArtifacts(artifacts: "deploy-${environment}.json")
    }
    if (outcome.status == 3) {
        // the version that served before still serves
        String serving = record.previous ?: 'the previous version'
        String message = "bridgeDeploy: ${environment}: the new version failed its health check and " +
            "was rolled back; ${serving} is serving"
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

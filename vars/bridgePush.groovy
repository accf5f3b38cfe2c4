import jenkinsbridge.Bridge
import jenkinsbridge.StepConfig

// Pushes the built image with the registry credentials bound for this push only.
Map call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgePush')
    bridge.checked(config)
    String credentialsId = config.credentialsId ?:
        StepConfig.lookup(bridge.descriptorData(config), ['image', 'credentialsId'])
    Map values = [
        BRIDGE_DESCRIPTOR_FILE: bridge.descriptorFile(config),
        BRIDGE_TAG: config.tag ?: env.BRIDGE_IMAGE_TAG,
    ]
    if (!values.BRIDGE_TAG) {
        error('bridgePush: no tag to push: run bridgeBuild first, or give tag')
    }
    String command = '"$BRIDGE_CLI" --output json image push "$BRIDGE_DESCRIPTOR_FILE" ' +
        '--tag "$BRIDGE_TAG" > "$BRIDGE_RESULT"'
    List credentials = credentialsId ? [usernamePassword(credentialsId: credentialsId,
        usernameVariable: 'REGISTRY_USER', passwordVariable: 'REGISTRY_PASSWORD')] : []
    Map outcome = bridge.run(command, values, credentials, credentials ? ['REGISTRY_PASSWORD'] : [])
    Map data = bridge.require(outcome, 'image push')
    env.BRIDGE_IMAGE_REF = data.reference
    currentBuild.description = "pushed ${data.reference}"
    return data
}

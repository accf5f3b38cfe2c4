import jenkinsbridge.Bridge

// Runs one test command inside the built image (or the workspace when there is no image).
void call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgeTest')
    bridge.checked(config)
    String image = config.image ?: env.BRIDGE_IMAGE
    Map values = [BRIDGE_TEST_NAME: config.name, BRIDGE_TEST_RUN: config.run, BRIDGE_TEST_IMAGE: image]
    String command = image ?
        'docker run --rm --network host --entrypoint sh "$BRIDGE_TEST_IMAGE" -c "$BRIDGE_TEST_RUN"' :
        'sh -c "$BRIDGE_TEST_RUN"'
    int status = 0
    withEnv(jenkinsbridge.StepConfig.environment(values)) {
        status = sh(script: command, returnStatus: true, label: 'test')
    }
    if (status != 0) {
        error("bridgeTest: test '${config.name}' failed (exit ${status})")
    }
}

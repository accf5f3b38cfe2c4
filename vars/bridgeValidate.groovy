import jenkinsbridge.Bridge

// Validates the descriptor the build runs with.
Map call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgeValidate')
    bridge.checked(config)
    Map outcome = bridge.run('"$BRIDGE_CLI" --output json validate "$BRIDGE_DESCRIPTOR_FILE" > "$BRIDGE_RESULT"',
        [BRIDGE_DESCRIPTOR_FILE: bridge.descriptorFile(config)])
    return bridge.require(outcome, 'validate')
}

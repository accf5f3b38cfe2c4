import jenkinsbridge.Bridge

// Builds the image; records its reference and tag for bridgeTest and bridgePush.
Map call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgeBuild')
    bridge.checked(config)
    Map outcome = bridge.run('"$BRIDGE_CLI" --output json image build "$BRIDGE_DESCRIPTOR_FILE" ' +
        '${BRIDGE_NO_CACHE:+--no-cache} > "$BRIDGE_RESULT"',
        [BRIDGE_DESCRIPTOR_FILE: bridge.descriptorFile(config), BRIDGE_NO_CACHE: config.noCache ? 'yes' : null])
    Map data = bridge.require(outcome, 'image build')
    String reference = data.reference
    env.BRIDGE_IMAGE = reference
    env.BRIDGE_IMAGE_TAG = reference.substring(((String) data.repository).length() + 1)
    echo("bridgeBuild: built ${reference}")
    return data
}

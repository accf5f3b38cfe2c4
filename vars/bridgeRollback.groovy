import jenkinsbridge.Bridge

// Rolls an environment back to the previous version, or to ``to``.
Map call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgeRollback')
    bridge.checked(config)
    Map outcome = bridge.run('"$BRIDGE_CLI" --output json rollback "$BRIDGE_DESCRIPTOR_FILE" ' +
        '--env "$BRIDGE_ENVIRONMENT" ${BRIDGE_ROLLBACK_TO:+--to "$BRIDGE_ROLLBACK_TO"} > "$BRIDGE_RESULT"',
        [BRIDGE_DESCRIPTOR_FILE: bridge.descriptorFile(config), BRIDGE_ENVIRONMENT: config.environment,
         BRIDGE_ROLLBACK_TO: config.to])
    Map data = bridge.require(outcome, "rollback of ${config.environment}")
    currentBuild.description = "${config.environment}: rolled back"
    return data
}

import jenkinsbridge.Bridge
import jenkinsbridge.StepConfig

// Rolls an environment back to the previous version, or to ``to``.
Map call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgeRollback')
    bridge.checked(config)
    // the version it returns to starts with the same secrets a deploy binds
    Map secrets = bridge.secretBindings(StepConfig.secrets(bridge.descriptorData(config), (String) config.environment))
    Map outcome = bridge.run('"$BRIDGE_CLI" --output json rollback "$BRIDGE_DESCRIPTOR_FILE" ' +
        '--env "$BRIDGE_ENVIRONMENT" ${BRIDGE_ROLLBACK_TO:+--to "$BRIDGE_ROLLBACK_TO"} > "$BRIDGE_RESULT"',
        [BRIDGE_DESCRIPTOR_FILE: bridge.descriptorFile(config), BRIDGE_ENVIRONMENT: config.environment,
         BRIDGE_ROLLBACK_TO: config.to], (List) secrets.bindings, (List) secrets.variables)
    Map data = bridge.require(outcome, "rollback of ${config.environment}")
    Map record = (Map) data.record ?: [:]
    String serving = record.digest ? ", ${record.digest} serving" : ''
    currentBuild.description = "${config.environment}: rolled back${serving}"
    return data
}

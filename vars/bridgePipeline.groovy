import jenkinsbridge.Bridge

// The whole pipeline from the descriptor in the service repository, for a one-line Jenkinsfile.
void call(Map config = [:]) {
    new Bridge(this, 'bridgePipeline').checked(config)
    String descriptor = config.descriptor ?: 'jenkins-bridge.yaml'
    String deployBranch = config.branch ?: 'main'
    node(config.agent ?: '') {
        try {
            // checkout returns GIT_BRANCH (and the other GIT_* values) but does not put them in
            // env: a plain pipeline job has no BRANCH_NAME, so the branch comes from here.
            Map scmVars = [:]
            stage('Checkout') {
                scmVars = (Map) checkout(scm) ?: [:]
            }
            Map service = readYaml(file: descriptor)
            // The steps read credentials IDs from the resolved descriptor (no team defaults here).
            String resolved = writeJSON(returnText: true, json: service)
            stage('Validate') {
                bridgeValidate(descriptor: descriptor, resolved: resolved)
            }
            if (service.image) {
                stage('Build image') {
                    bridgeBuild(descriptor: descriptor, resolved: resolved)
                }
            }
            for (Map test in (List) (service.pipeline?.test ?: [])) {
                stage("Test: ${test.name}") {
                    bridgeTest(descriptor: descriptor, resolved: resolved, name: test.name, run: test.run)
                }
            }
            String branch = env.BRANCH_NAME ?: ((String) scmVars.GIT_BRANCH ?: '').replaceFirst('^origin/', '')
            if (service.image && branch == deployBranch) {
                stage('Push image') {
                    bridgePush(descriptor: descriptor, resolved: resolved)
                }
                for (Map target in (List) (service.deploy ?: [])) {
                    stage("Deploy: ${target.environment}") {
                        bridgeDeploy(descriptor: descriptor, resolved: resolved, environment: target.environment)
                    }
                }
            }
        } finally {
            deleteDir()
        }
    }
}

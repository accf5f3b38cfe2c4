import jenkinsbridge.Bridge

// Installs (once per agent and version) and checks the jenkins-bridge CLI; returns its path.
// The shell text is constant: every value reaches it through the environment.
String call(Map config = [:]) {
    Bridge bridge = new Bridge(this, 'bridgeSetup')
    bridge.checked(config)
    String version = bridge.libraryVersion()
    Map values = [
        BRIDGE_SETUP_VERSION: version,
        BRIDGE_SETUP_CLI: config.cli ?: env.JENKINS_BRIDGE_CLI,
        BRIDGE_SETUP_INDEX: config.indexUrl ?: env.JENKINS_BRIDGE_INDEX_URL,
        BRIDGE_SETUP_WHEEL: config.wheel ?: env.JENKINS_BRIDGE_WHEEL,
        BRIDGE_SETUP_CACHE: config.cacheDir ?: env.JENKINS_BRIDGE_CACHE,
    ]
    String out = ''
    withEnv(jenkinsbridge.StepConfig.environment(values)) {
        out = sh(script: SETUP, returnStdout: true, label: 'jenkins-bridge setup')
    }
    List<String> lines = out.trim().readLines()
    String cli = lines ? lines[0] : ''
    String found = lines.size() > 1 ? lines[-1] : ''
    if (!found.endsWith(' ' + version)) {
        String other = found ? found.tokenize(' ')[-1] : '<its version>'
        error("bridgeSetup: ${cli} reports '${found}', but this library is version ${version}: " +
            'install the matching jenkins-bridge, or load the library tag v' + other)
    }
    return cli
}

// Venv per version under the cache folder; a marker file says the install completed.
@groovy.transform.Field
static final String SETUP = '''set -eu
cli="${BRIDGE_SETUP_CLI:-}"
if [ -z "$cli" ]; then
  cache="${BRIDGE_SETUP_CACHE:-$HOME/.cache/jenkins-bridge}"
  venv="$cache/venv-$BRIDGE_SETUP_VERSION"
  mkdir -p "$cache"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv.lock"
    flock 9
  fi
  if [ ! -e "$venv/.complete" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    if [ -n "${BRIDGE_SETUP_WHEEL:-}" ]; then
      "$venv/bin/pip" install --quiet "$BRIDGE_SETUP_WHEEL" >&2
    elif [ -n "${BRIDGE_SETUP_INDEX:-}" ]; then
      "$venv/bin/pip" install --quiet --index-url "$BRIDGE_SETUP_INDEX" "jenkins-bridge==$BRIDGE_SETUP_VERSION" >&2
    else
      "$venv/bin/pip" install --quiet "jenkins-bridge==$BRIDGE_SETUP_VERSION" >&2
    fi
    touch "$venv/.complete"
  fi
  cli="$venv/bin/jenkins-bridge"
fi
printf '%s\\n' "$cli"
"$cli" --version
'''

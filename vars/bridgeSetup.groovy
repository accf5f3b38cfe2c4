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
        BRIDGE_SETUP_FIND_LINKS: config.findLinks ?: env.JENKINS_BRIDGE_FIND_LINKS,
        BRIDGE_SETUP_CACHE: config.cacheDir ?: env.JENKINS_BRIDGE_CACHE,
        BRIDGE_SETUP_FAILED: FAILED,
    ]
    String out = ''
    withEnv(jenkinsbridge.StepConfig.environment(values)) {
        out = sh(script: SETUP, returnStdout: true, label: 'jenkins-bridge setup')
    }
    List<String> lines = out.trim().readLines()
    if (lines && lines[0].startsWith(FAILED)) {
        error("bridgeSetup: ${lines[0].substring(FAILED.length())} (pip's messages are in the " +
            'log above): check wheel, findLinks and indexUrl')
    }
    String cli = lines ? lines[0] : ''
    String found = lines.size() > 1 ? lines[-1] : ''
    if (!found.endsWith(' ' + version)) {
        String other = found ? found.tokenize(' ')[-1] : '<its version>'
        error("bridgeSetup: ${cli} reports '${found}', but this library is version ${version}: " +
            'install the matching jenkins-bridge, or load the library tag v' + other)
    }
    return cli
}

// What the setup script prints instead of the CLI's path when it could not install it.
@groovy.transform.Field
static final String FAILED = 'jenkins-bridge setup failed: '

// Venv per version under the cache folder; a marker file says the install completed. pip's
// arguments are built with `set --`, so each value stays one word whatever it holds. A failed
// install leaves no marker, so the next build starts again.
@groovy.transform.Field
static final String SETUP = '''set -eu
failed() { printf '%s%s\\n' "$BRIDGE_SETUP_FAILED" "$1"; exit 0; }
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
    python3 -m venv "$venv" >&2 || failed "python3 -m venv could not create $venv"
    set -- install --quiet --disable-pip-version-check
    if [ -n "${BRIDGE_SETUP_FIND_LINKS:-}" ]; then
      set -- "$@" --no-index --find-links "$BRIDGE_SETUP_FIND_LINKS"
    elif [ -n "${BRIDGE_SETUP_INDEX:-}" ]; then
      set -- "$@" --index-url "$BRIDGE_SETUP_INDEX"
    fi
    if [ -n "${BRIDGE_SETUP_WHEEL:-}" ]; then
      set -- "$@" "$BRIDGE_SETUP_WHEEL"
    else
      set -- "$@" "jenkins-bridge==$BRIDGE_SETUP_VERSION"
    fi
    echo "bridgeSetup: installing jenkins-bridge $BRIDGE_SETUP_VERSION into $venv" >&2
    "$venv/bin/python" -m pip "$@" >&2 ||
      failed "pip could not install jenkins-bridge $BRIDGE_SETUP_VERSION into $venv"
    # pip succeeds without installing when it finds the requirement met elsewhere (PYTHONPATH)
    [ -x "$venv/bin/jenkins-bridge" ] ||
      failed "pip installed no jenkins-bridge executable into $venv"
    touch "$venv/.complete"
  fi
  cli="$venv/bin/jenkins-bridge"
fi
printf '%s\\n' "$cli"
"$cli" --version
'''

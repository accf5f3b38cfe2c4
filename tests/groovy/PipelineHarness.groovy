// A JenkinsPipelineUnit-style harness on Groovy 2.4: runs Jenkinsfiles (declarative, and the
// scripted steps of vars/) with this repository's vars/ and src/ as the shared library, and
// records every step call. One JVM runs every case of a spec file:
//   groovy -cp tests/groovy/stubs:src tests/groovy/PipelineHarness.groovy SPEC.json
// SPEC is a list of cases: {name, jenkinsfile, library, mode: recorded|live, workspace, env,
// params, checkoutEnv, inputs: {stage: approve|reject}, sh: [{match, status, stdout, result}],
// yaml: {file: data}, previousResult}. Per case it prints one JSON line:
//   {"name", "result", "stages": [[name, status]], "calls": [...], "log": [...], "files": {...}}
// Semantics kept from Jenkins: a failed stage skips the stages after it; `when` is decided
// before the agent/input/options with beforeAgent/beforeInput/beforeOptions, else after them;
// a declined input aborts the build and runs no post of its stage (only a stage whose input,
// options and agent succeeded runs its own post); post conditions run in Jenkins' order by result; the
// checkout's env (GIT_BRANCH, ...) is set inside a stage's agent only.
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer

class PipelineError extends RuntimeException {
    PipelineError(String message) { super(message) }
}

class AbortError extends RuntimeException {
    AbortError(String message) { super(message) }
}

/** env: the build's variables, with withEnv/withCredentials/checkout overlays on top. */
class Env {
    Map<String, String> base = [:]
    List<Map<String, String>> overlays = []

    Object getProperty(String name) { return name == 'base' ? base : name == 'overlays' ? overlays : get(name) }
    void setProperty(String name, Object value) { base[name] = value == null ? null : value.toString() }
    String get(String name) {
        for (Map<String, String> overlay in overlays.reverse()) {
            if (overlay.containsKey(name)) { return overlay[name] }
        }
        return base[name]
    }
    Map<String, String> all() {
        Map<String, String> merged = new TreeMap<String, String>(base)
        for (Map<String, String> overlay in overlays) { merged.putAll(overlay) }
        return merged
    }
    Object with(Map<String, String> values, Closure body) {
        overlays.add(values)
        try { return body.call() } finally { overlays.remove(overlays.size() - 1) }
    }
}

class CurrentBuild {
    String result = null
    String description = null
    String previousResult = null
    String getCurrentResult() { return result ?: 'SUCCESS' }
    void worsen(String to) {
        List<String> order = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']
        if (order.indexOf(to) > order.indexOf(getCurrentResult())) { result = to }
    }
}

/** Collects a closure's directives: unknown names are recorded as [name, args]. */
class Directives {
    List<List<Object>> entries = []
    Map<String, Object> assigned = new LinkedHashMap<String, Object>()
    Object methodMissing(String name, Object args) {
        entries.add([name, ((Object[]) args).toList()])
        return [directive: name, args: ((Object[]) args).toList()]
    }
    void setProperty(String name, Object value) { assigned[name] = value }
    Object propertyMissing(String name) { return name }  // `agent none`, `agent any`
}

class StageSpec {
    String name
    Object agent = null
    Closure when = null
    List<List<Object>> options = []
    Closure input = null
    Closure steps = null
    List<StageSpec> stages = null
    Map<String, Closure> post = [:]

    Object propertyMissing(String name) {
        if (name in ['none', 'any']) { return name }
        throw new MissingPropertyException(name, this.getClass())
    }
    void agent(Object value) { agent = value }
    void when(Closure c) { when = c }
    void options(Closure c) { options = Harness.directives(c).entries }
    void input(Closure c) { input = c }
    void steps(Closure c) { steps = c }
    void stages(Closure c) { stages = Harness.stageList(c) }
    void post(Closure c) { post = Harness.postBlocks(c) }
    void environment(Closure c) { Harness.directives(c) }
}

class StageList {
    List<StageSpec> stages = []
    void stage(String name, Closure body) {
        StageSpec spec = new StageSpec(name: name)
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.delegate = spec
        body.call()
        stages.add(spec)
    }
}

class PostBlocks {
    Map<String, Closure> blocks = [:]
    Object methodMissing(String name, Object args) {
        blocks[name] = (Closure) ((Object[]) args)[0]
        return null
    }
}

class PipelineSpec {
    Object agent
    List<List<Object>> options = []
    List<List<Object>> parameters = []
    List<List<Object>> triggers = []
    Map<String, Object> environment = [:]
    List<StageSpec> stages = []
    Map<String, Closure> post = [:]

    Object propertyMissing(String name) {
        if (name in ['none', 'any']) { return name }
        throw new MissingPropertyException(name, this.getClass())
    }
    void agent(Object value) { agent = value }
    void options(Closure c) { options = Harness.directives(c).entries }
    void parameters(Closure c) { parameters = Harness.directives(c).entries }
    void triggers(Closure c) { triggers = Harness.directives(c).entries }
    void environment(Closure c) { environment = Harness.directives(c).assigned }
    void stages(Closure c) { stages = Harness.stageList(c) }
    void post(Closure c) { post = Harness.postBlocks(c) }
}

/** `when { ... }`: evaluated lazily; the flags say when. */
class WhenSpec {
    Map<String, Boolean> flags = [:]
    List<Closure> conditions = []
    Harness harness
    void beforeAgent(boolean value) { flags.beforeAgent = value }
    void beforeInput(boolean value) { flags.beforeInput = value }
    void beforeOptions(boolean value) { flags.beforeOptions = value }
    void expression(Closure c) { conditions.add(c) }
    void branch(String pattern) {
        conditions.add { -> harness.env.get('BRANCH_NAME') != null && harness.env.get('BRANCH_NAME').equalsIgnoreCase(pattern) }
    }
    void environment(Map args) {
        conditions.add { -> harness.env.get((String) args.name) == args.value }
    }
}

/** The delegate of `steps { }` bodies: step names dispatch to the harness' steps. */
class StepsDelegate {
    Harness harness
    Object methodMissing(String name, Object args) {
        if (harness.steps.containsKey(name)) {
            return harness.steps[name].call(*((Object[]) args))
        }
        throw new MissingMethodException(name, StepsDelegate, (Object[]) args)
    }
    Object propertyMissing(String name) {
        if (name == 'env') { return harness.env }
        if (name == 'params') { return harness.params }
        if (name == 'currentBuild') { return harness.currentBuild }
        if (name == 'scm') { return [scm: 'git'] }
        throw new MissingPropertyException(name, StepsDelegate)
    }
}

class Harness {
    Map spec
    Env env = new Env()
    Map params = [:]
    CurrentBuild currentBuild = new CurrentBuild()
    List<Map> calls = []
    List<String> log = []
    List<List<String>> stageResults = []
    Map<String, String> files = [:]  // recorded mode's workspace
    Map<String, Closure> steps = [:]
    boolean live
    boolean defaultCheckout = true  // false under options { skipDefaultCheckout() }
    File workspace
    File library
    GroovyShell shell
    StepsDelegate stepsDelegate

    static Directives directives(Closure c) {
        Directives d = new Directives()
        c.resolveStrategy = Closure.DELEGATE_ONLY
        c.delegate = d
        c.call()
        return d
    }

    static List<StageSpec> stageList(Closure c) {
        StageList list = new StageList()
        c.resolveStrategy = Closure.DELEGATE_FIRST
        c.delegate = list
        c.call()
        return list.stages
    }

    static Map<String, Closure> postBlocks(Closure c) {
        PostBlocks p = new PostBlocks()
        c.resolveStrategy = Closure.DELEGATE_ONLY
        c.delegate = p
        c.call()
        return p.blocks
    }

    Harness(Map spec) {
        this.spec = spec
        live = spec.mode == 'live'
        library = new File((String) spec.library)
        workspace = new File((String) (spec.workspace ?: '.'))
        if (live) {
            env.base.putAll(System.getenv())  // an agent's environment: PATH, HOME, DOCKER_HOST
        }
        env.base.putAll((Map<String, String>) (spec.env ?: [:]))
        env.base.WORKSPACE = workspace.absolutePath
        params.putAll((Map) (spec.params ?: [:]))
        currentBuild.previousResult = spec.previousResult
        stepsDelegate = new StepsDelegate(harness: this)
        defineSteps()
    }

    void record(String step, Map args) {
        Map entry = [step: step] + args
        calls.add(entry)
    }

    Map shRule(String script) {
        for (Map rule in (List<Map>) (spec.sh ?: [])) {
            if (script =~ (String) rule.match) { return rule }
        }
        return [status: 0, stdout: '']
    }

    Object runSh(Object arg) {
        Map args = arg instanceof Map ? (Map) arg : [script: arg]
        String script = args.script
        Map<String, String> visible = new TreeMap<String, String>()
        for (Map<String, String> overlay in env.overlays) { visible.putAll(overlay) }
        record('sh', [script: script, env: visible])
        int status
        String stdout
        if (live) {
            ProcessBuilder builder = new ProcessBuilder('sh', '-c', script).directory(workspace)
            builder.environment().putAll(env.all().findAll { k, v -> v != null })
            builder.redirectError(ProcessBuilder.Redirect.INHERIT)
            Process process = builder.start()
            stdout = process.inputStream.text
            status = process.waitFor()
            if (!args.returnStdout) {
                System.err.print(stdout)  // the log; this JVM's stdout carries only the outcomes
            }
        } else {
            if (script == 'rm -f "$BRIDGE_RESULT"') { files.remove(env.get('BRIDGE_RESULT')) }
            Map rule = shRule(script)
            status = (int) (rule.status ?: 0)
            stdout = (String) (rule.stdout ?: '')
            if (rule.result != null) {
                files[env.get('BRIDGE_RESULT')] = JsonOutput.toJson(rule.result)
            }
        }
        if (args.returnStatus) { return status }
        if (status != 0) { throw new PipelineError("script returned exit code ${status}") }
        return args.returnStdout ? stdout : null
    }

    File inWorkspace(String path) { return new File(workspace, path) }

    void defineSteps() {
        steps.sh = { Object arg -> runSh(arg) }
        steps.echo = { String message -> record('echo', [message: message]); log.add(message) }
        steps.error = { String message -> record('error', [message: message]); throw new PipelineError(message) }
        steps.unstable = { String message ->
            record('unstable', [message: message]); currentBuild.worsen('UNSTABLE'); log.add(message)
        }
        steps.withEnv = { List<String> entries, Closure body ->
            Map<String, String> values = [:]
            for (String entry in entries) {
                int eq = entry.indexOf('=')
                values[entry.substring(0, eq)] = entry.substring(eq + 1)
            }
            env.with(values, body)
        }
        steps.usernamePassword = { Map args -> [type: 'usernamePassword'] + args }
        steps.string = { Map args -> [type: 'string'] + args }
        steps.file = { Map args -> [type: 'file'] + args }
        steps.withCredentials = { List bindings, Closure body ->
            record('withCredentials', [bindings: bindings])
            Map<String, String> values = [:]
            Map<String, String> known = (Map<String, String>) (spec.credentials ?: [:])
            for (Map b in bindings) {
                if (b.type == 'usernamePassword') {
                    values[(String) b.usernameVariable] = known[b.credentialsId + ':user'] ?: 'user-of-' + b.credentialsId
                    values[(String) b.passwordVariable] = known[b.credentialsId + ':password'] ?: 'password-of-' + b.credentialsId
                } else {
                    values[(String) b.variable] = known[(String) b.credentialsId] ?: 'secret-of-' + b.credentialsId
                }
            }
            env.with(values, body)
        }
        steps.libraryResource = { String path -> new File(library, 'resources/' + path).text }
        steps.writeFile = { Map args ->
            record('writeFile', [file: args.file, text: args.text])
            if (live) { inWorkspace((String) args.file).text = args.text } else { files[(String) args.file] = (String) args.text }
        }
        steps.readFile = { Object arg ->
            String path = arg instanceof Map ? ((Map) arg).file : arg
            return live ? inWorkspace(path).text : files[path]
        }
        steps.fileExists = { String path -> live ? inWorkspace(path).exists() : files.containsKey(path) }
        steps.archiveArtifacts = { Map args -> record('archiveArtifacts', args) }
        steps.deleteDir = { -> record('deleteDir', [:]); if (!live) { files.clear() } }
        steps.mail = { Map args -> record('mail', args) }
        // The git plugin's `git` step (an SCMStep): it returns the checkout's variables and,
        // unlike declarative's automatic checkout, leaves env alone. Live: the workspace
        // already holds the source, so nothing is fetched.
        steps.git = { Map args ->
            record('git', args)
            String commit = ((Map) (spec.checkoutEnv ?: [:])).GIT_COMMIT ?: '0000000000000000000000000000000000000000'
            return [GIT_BRANCH: 'origin/' + args.branch, GIT_COMMIT: commit, GIT_URL: args.url]
        }
        steps.checkout = { Object scm -> record('checkout', [:]); env.base.putAll((Map) (spec.checkoutEnv ?: [:])) }
        steps.readJSON = { Map args ->
            String text = args.text != null ? args.text : steps.readFile.call(args.file)
            return new JsonSlurper().parseText(text)
        }
        steps.writeJSON = { Map args ->
            String text = JsonOutput.toJson(args.json)
            if (args.returnText) { return text }
            steps.writeFile.call([file: args.file, text: text])
        }
        steps.readYaml = { Map args -> ((Map) (spec.yaml ?: [:]))[args.file] }
        steps.node = { Object label, Closure body -> record('node', [label: label]); body.call() }
        steps.stage = { String name, Closure body ->
            record('stage', [name: name])
            try {
                body.call()
                stageResults.add([name, 'SUCCESS'])
            } catch (Throwable t) {
                stageResults.add([name, 'FAILURE'])
                throw t
            }
        }
        steps.library = { Map args -> record('library', [identifier: args.identifier, retriever: args.retriever]) }
        steps.legacySCM = { Object scm -> [retriever: 'legacySCM'] }
        steps.timeout = { Object args, Closure body -> record('timeout', [args: args]); body.call() }
    }

    void loadLibrary() {
        CompilerConfiguration config = new CompilerConfiguration()
        ImportCustomizer imports = new ImportCustomizer()
        imports.addImports('org.jenkinsci.plugins.workflow.libs.Library')
        config.addCompilationCustomizers(imports)
        Binding binding = new Binding()
        binding.setVariable('env', env)
        binding.setVariable('params', params)
        binding.setVariable('currentBuild', currentBuild)
        binding.setVariable('scm', [scm: 'git'])
        binding.setVariable('_', null)
        steps.each { String name, Closure step -> binding.setVariable(name, step) }
        shell = new GroovyShell(this.class.classLoader, binding, config)
        shell.classLoader.addClasspath(new File(library, 'src').absolutePath)
        new File(library, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort().each { File file ->
            Script script = shell.parse(file)
            String name = file.name - '.groovy'
            Closure step = { Object... args ->
                record(name, [args: args.length == 1 ? args[0] : args.toList()])
                script.invokeMethod('call', args)
            }
            steps[name] = step
            binding.setVariable(name, step)
        }
        binding.setVariable('pipeline', { Closure body -> runPipeline(body) })
    }

    // --- declarative ---------------------------------------------------------------------

    void runPipeline(Closure body) {
        PipelineSpec pipeline = new PipelineSpec()
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.delegate = pipeline
        body.call()
        record('pipeline', [agent: describeAgent(pipeline.agent), options: pipeline.options.collect { it[0] }])
        defaultCheckout = !pipeline.options.any { it[0] == 'skipDefaultCheckout' }
        for (List<Object> p in pipeline.parameters) {
            Map args = (Map) p[1][0]
            if (!params.containsKey(args.name)) { params[args.name] = args.defaultValue }
        }
        pipeline.environment.each { k, v -> env.base[k] = v == null ? null : v.toString() }
        boolean failed = false
        for (StageSpec stage in pipeline.stages) {
            if (failed) {
                skip(stage, 'earlier failure')
                continue
            }
            failed = !runStage(stage)
        }
        runPost(pipeline.post, currentBuild.getCurrentResult())
    }

    static String describeAgent(Object agent) {
        if (agent instanceof Closure) {
            Directives d = directives((Closure) agent)
            return d.entries.collect { it[0] + ' ' + it[1].join(',') }.join('; ')
        }
        return agent == null ? null : agent.toString()
    }

    void skip(StageSpec stage, String why) {
        stageResults.add([stage.name, 'SKIPPED: ' + why])
        for (StageSpec child in (stage.stages ?: [])) { skip(child, why) }
    }

    boolean evaluateWhen(StageSpec stage) {
        WhenSpec spec = whenOf(stage)
        for (Closure condition in spec.conditions) {
            condition.resolveStrategy = Closure.DELEGATE_FIRST
            condition.delegate = stepsDelegate
            if (!condition.call()) { return false }
        }
        return true
    }

    WhenSpec whenOf(StageSpec stage) {
        WhenSpec spec = new WhenSpec(harness: this)
        if (stage.when != null) {
            Closure c = (Closure) stage.when.clone()
            c.resolveStrategy = Closure.DELEGATE_FIRST
            c.delegate = spec
            c.call()
        }
        return spec
    }

    /** Runs one stage; false when it failed or aborted (the stages after it are skipped). */
    boolean runStage(StageSpec stage) {
        Map<String, Boolean> flags = whenOf(stage).flags
        boolean early = flags.beforeAgent || flags.beforeInput || flags.beforeOptions
        if (early && !evaluateWhen(stage)) {
            skip(stage, 'when')
            return true
        }
        String result = 'SUCCESS'
        boolean agentTaken = stage.agent != null
        // ModelInterpreter runs a non-parallel stage's post inside its input, options and agent
        // (executeSingleStage, or evaluateSequentialStages for a parent of stages): a declined
        // or expired input, or a when that skips the stage, runs no post of that stage.
        boolean entered = false
        Map<String, String> checkout = [:]
        try {
            if (stage.options) { record('options', [stage: stage.name, options: stage.options]) }
            if (stage.input != null) {
                askInput(stage)
            }
            if (agentTaken) {
                record('agent', [stage: stage.name, agent: describeAgent(stage.agent)])
                if (defaultCheckout) {
                    record('checkout', [stage: stage.name])
                    checkout = (Map<String, String>) (spec.checkoutEnv ?: [:])
                }
            }
            env.with(checkout) {
                if (!early && !evaluateWhen(stage)) {
                    result = 'SKIPPED'
                    return
                }
                entered = true
                stageResults.add([stage.name, 'RUNNING'])
                int index = stageResults.size() - 1
                if (stage.stages != null) {
                    boolean failedChild = false
                    for (StageSpec child in stage.stages) {
                        if (failedChild) { skip(child, 'earlier failure'); continue }
                        failedChild = !runStage(child)
                    }
                    if (failedChild) { throw new PipelineError('a nested stage failed') }
                } else if (stage.steps != null) {
                    Closure steps = (Closure) stage.steps.clone()
                    steps.resolveStrategy = Closure.DELEGATE_FIRST
                    steps.delegate = stepsDelegate
                    steps.call()
                }
                stageResults[index] = [stage.name, currentBuild.getCurrentResult() == 'UNSTABLE' ? 'UNSTABLE' : 'SUCCESS']
            }
            if (result == 'SKIPPED') {
                stageResults.add([stage.name, 'SKIPPED: when'])
                return true
            }
        } catch (AbortError e) {
            result = 'ABORTED'
            log.add(e.message)
            currentBuild.worsen('ABORTED')
        } catch (PipelineError e) {
            result = 'FAILURE'
            log.add(e.message)
            currentBuild.worsen('FAILURE')
        }
        if (result != 'SUCCESS') {
            int last = stageResults.findLastIndexOf { it[0] == stage.name }
            if (last >= 0 && stageResults[last][1] == 'RUNNING') {
                stageResults[last] = [stage.name, result]
            } else {
                stageResults.add([stage.name, result])
            }
        }
        if (entered) {
            env.with(checkout) {
                runPost(stage.post, result == 'SUCCESS' ? currentBuild.getCurrentResult() : result)
            }
        }
        return result == 'SUCCESS'
    }

    void askInput(StageSpec stage) {
        Directives d = directives((Closure) stage.input.clone())
        Map<String, Object> input = [:]
        for (List<Object> entry in d.entries) { input[(String) entry[0]] = entry[1][0] }
        record('input', [stage: stage.name] + input)
        String answer = ((Map) (spec.inputs ?: [:]))[stage.name] ?: 'approve'
        if (answer != 'approve') {
            throw new AbortError("input '${stage.name}' ${answer == 'timeout' ? 'timed out' : 'was declined'}")
        }
    }

    static final List<String> POST_ORDER = [
        'always', 'changed', 'fixed', 'regression', 'aborted', 'failure', 'success', 'unstable',
        'unsuccessful', 'cleanup',
    ]

    boolean postApplies(String condition, String result) {
        String previous = currentBuild.previousResult
        switch (condition) {
            case 'always': case 'cleanup': return true
            case 'changed': return previous != null && previous != result
            case 'fixed': return result == 'SUCCESS' && previous in ['FAILURE', 'UNSTABLE']
            case 'regression': return previous == 'SUCCESS' && result in ['FAILURE', 'UNSTABLE', 'ABORTED']
            case 'unsuccessful': return result != 'SUCCESS'
            default: return condition.toUpperCase() == result
        }
    }

    void runPost(Map<String, Closure> post, String result) {
        for (String condition in POST_ORDER) {
            if (post.containsKey(condition) && postApplies(condition, result)) {
                record('post', [condition: condition, result: result])
                Closure body = (Closure) post[condition].clone()
                body.resolveStrategy = Closure.DELEGATE_FIRST
                body.delegate = stepsDelegate
                try {
                    body.call()
                } catch (PipelineError e) {
                    log.add(e.message)
                    currentBuild.worsen('FAILURE')
                }
            }
        }
    }

    Map run() {
        loadLibrary()
        String text = spec.jenkinsfile ? new File((String) spec.jenkinsfile).text : (String) spec.script
        Script script = shell.parse(text, 'Jenkinsfile')
        try {
            script.run()
        } catch (PipelineError e) {
            log.add(e.message)
            currentBuild.worsen('FAILURE')
        }
        return [
            name: spec.name, result: currentBuild.getCurrentResult(), stages: stageResults,
            calls: calls, log: log, files: files, description: currentBuild.description,
            params: params,
        ]
    }
}

List<Map> cases = (List<Map>) new JsonSlurper().parse(new File(args[0]))
int broken = 0
for (Map spec in cases) {
    Map outcome
    try {
        outcome = new Harness(spec).run()
    } catch (Throwable t) {
        StringWriter trace = new StringWriter()
        t.printStackTrace(new PrintWriter(trace))
        outcome = [name: spec.name, crashed: trace.toString()]
        broken++
    }
    println(JsonOutput.toJson(outcome))
}
System.exit(broken ? 1 : 0)

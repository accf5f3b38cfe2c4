// Parses Jenkinsfiles with Groovy 2.4 (the line Jenkins runs) up to the CONVERSION phase:
// syntax and AST, no class resolution, so @Library and pipeline steps need no stubs.
// One JVM checks every file given. Per file it prints one JSON line:
//   {"file": path, "ok": true, "strings": [...], "gstrings": [...], "calls": [...], "paths": [...]}
// or {"file": path, "ok": false, "error": message}; exit 1 if any file fails to parse.
// The facts (string constants, GString texts, method names called) let the tests prove that
// descriptor values stay data: each appears as one string constant and adds no call.
// "paths" shows how calls nest through closures, e.g. "pipeline/stages/stage:Build/agent/label",
// so the tests can check the pipeline's shape (a stage is named by its first string argument).
import groovy.json.JsonOutput
import org.codehaus.groovy.ast.CodeVisitorSupport
import org.codehaus.groovy.ast.expr.ArgumentListExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.GStringExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.ast.expr.StaticMethodCallExpression
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.Phases

class Facts extends CodeVisitorSupport {
    List<String> strings = []
    List<String> gstrings = []
    Set<String> calls = new TreeSet<String>()
    Set<String> paths = new TreeSet<String>()
    List<String> stack = []

    void visitConstantExpression(ConstantExpression e) {
        if (e.value instanceof String) { strings << (String) e.value }
        super.visitConstantExpression(e)
    }
    void visitGStringExpression(GStringExpression e) {
        gstrings << e.text
        super.visitGStringExpression(e)
    }
    void visitMethodCallExpression(MethodCallExpression e) {
        calls << e.methodAsString
        String name = e.methodAsString
        def first = e.arguments instanceof ArgumentListExpression && e.arguments.expressions ?
            e.arguments.expressions[0] : null
        if (first instanceof ConstantExpression && first.value instanceof String) {
            name += ':' + first.value
        }
        stack << name
        paths << stack.join('/')
        super.visitMethodCallExpression(e)
        stack.remove(stack.size() - 1)
    }
    void visitStaticMethodCallExpression(StaticMethodCallExpression e) {
        calls << e.method
        super.visitStaticMethodCallExpression(e)
    }
}

int failures = 0
args.each { String path ->
    def unit = new CompilationUnit(new CompilerConfiguration())
    unit.addSource(new File(path))
    try {
        unit.compile(Phases.CONVERSION)
        def facts = new Facts()
        unit.AST.modules.each { module ->
            module.statementBlock.visit(facts)
            module.classes.each { cls -> cls.methods.each { m -> m.code?.visit(facts) } }
        }
        println JsonOutput.toJson([file: path, ok: true, strings: facts.strings,
                                   gstrings: facts.gstrings, calls: facts.calls as List,
                                   paths: facts.paths as List])
    } catch (CompilationFailedException e) {
        failures++
        println JsonOutput.toJson([file: path, ok: false, error: e.message])
    }
}
System.exit(failures == 0 ? 0 : 1)

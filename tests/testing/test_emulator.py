"""Behaviour of the Jenkins emulator over real loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import jenkins
import pytest
import requests

from jenkins_bridge.testing import FaultInjection, JenkinsEmulator
from jenkins_bridge.testing.jenkins_model import DEFAULT_PLUGINS

USER, TOKEN = "admin", "token123"


@pytest.fixture
def emu() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(host="127.0.0.1", port=0, users={USER: TOKEN}) as emulator:
        yield emulator


@pytest.fixture
def http(emu: JenkinsEmulator) -> Iterator[requests.Session]:
    """A token-authenticated session: no crumb needed (ApiCrumbExclusion)."""
    with requests.Session() as session:
        session.auth = (USER, TOKEN)
        yield session


PIPELINE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<flow-definition>'
    "<description>{desc}</description><keepDependencies>false</keepDependencies>"
    '<definition class="org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition">'
    "<script>node {{}}</script></definition><disabled>false</disabled></flow-definition>"
)
FOLDER = (
    "<com.cloudbees.hudson.plugins.folder.Folder><description>{desc}</description>"
    "<properties/></com.cloudbees.hudson.plugins.folder.Folder>"
)
XML = {"Content-Type": "application/xml"}


def create(http: requests.Session, emu: JenkinsEmulator, path: str, name: str, xml: str) -> Any:
    return http.post(f"{emu.url}{path}createItem", params={"name": name}, data=xml, headers=XML)


# ---- security -----------------------------------------------------------------------------


def test_anonymous_get_is_403_with_advertised_headers(emu: JenkinsEmulator) -> None:
    r = requests.get(emu.url + "api/json")
    assert r.status_code == 403
    assert "WWW-Authenticate" not in r.headers
    assert r.headers["X-Hudson"] == "1.395"
    assert r.headers["X-Jenkins"] == "2.568.2"
    assert len(r.headers["X-Jenkins-Session"]) == 8
    assert r.headers["X-You-Are-Authenticated-As"] == "anonymous"
    assert r.headers["X-Required-Permission"] == "hudson.model.Hudson.Read"
    assert "Authentication required" in r.text
    assert "/login?from=%2Fapi%2Fjson" in r.text
    assert requests.get(emu.url + "crumbIssuer/api/json").status_code == 403


def test_older_core_omits_permission_headers_on_anonymous_403() -> None:
    with JenkinsEmulator(users={USER: TOKEN}, version="2.516.3") as old:
        r = requests.get(old.url + "api/json")
        assert r.status_code == 403
        assert r.headers["X-Jenkins"] == "2.516.3"
        assert "X-You-Are-Authenticated-As" not in r.headers
        bad = requests.get(old.url + "api/json", auth=(USER, "nope"))
        assert bad.headers["WWW-Authenticate"] == 'Basic realm="Jenkins"'


def test_anonymous_post_gets_crumb_403_first(emu: JenkinsEmulator) -> None:
    r = requests.post(emu.url + "createItem?name=x", data=PIPELINE.format(desc=""), headers=XML)
    assert r.status_code == 403
    assert "No valid crumb was included in the request" in r.text
    assert "X-Jenkins" not in r.headers
    assert emu.items == {}


@pytest.mark.parametrize("auth", [(USER, "wrong"), ("nobody", TOKEN)])
def test_wrong_token_is_401(emu: JenkinsEmulator, auth: tuple[str, str]) -> None:
    for method in ("GET", "POST"):
        r = requests.request(method, emu.url + "api/json", auth=auth)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Jenkins", charset="UTF-8"'
        assert "X-Jenkins" not in r.headers


def test_token_requests_need_no_crumb(emu: JenkinsEmulator, http: requests.Session) -> None:
    r = create(http, emu, "", "job1", PIPELINE.format(desc="d"))
    assert r.status_code == 200
    assert r.text == ""
    assert "job1" in emu.items


def test_crumb_issuer_and_me(emu: JenkinsEmulator, http: requests.Session) -> None:
    r = http.get(emu.url + "crumbIssuer/api/json")
    assert r.status_code == 200
    body = r.json()
    assert body["_class"] == "hudson.security.csrf.DefaultCrumbIssuer"
    assert body["crumbRequestField"] == "Jenkins-Crumb"
    assert len(body["crumb"]) == 64 and int(body["crumb"], 16) >= 0
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(emu.cookie_name + "=") and "HttpOnly" in cookie
    assert emu.cookie_name.startswith("JSESSIONID.") and len(emu.cookie_name) == 19
    assert r.headers["Content-Type"] == "application/json;charset=utf-8"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    me = http.get(emu.url + "me/api/json").json()
    assert me["_class"] == "hudson.model.User" and me["id"] == USER


def _login(emu: JenkinsEmulator) -> tuple[requests.Session, str]:
    session = requests.Session()
    r = session.post(
        emu.url + "j_spring_security_check",
        data={"j_username": USER, "j_password": TOKEN},
        allow_redirects=False,
    )
    assert r.status_code == 302
    crumb = session.get(emu.url + "crumbIssuer/api/json").json()["crumb"]
    return session, crumb


def test_cookie_session_needs_its_own_crumb(emu: JenkinsEmulator) -> None:
    alice, alice_crumb = _login(emu)
    _bob, bob_crumb = _login(emu)
    assert alice_crumb != bob_crumb
    url = emu.url + "createItem?name=a"
    body = PIPELINE.format(desc="")
    assert alice.post(url, data=body, headers=XML).status_code == 403
    foreign = alice.post(url, data=body, headers={**XML, "Jenkins-Crumb": bob_crumb})
    assert foreign.status_code == 403
    assert "No valid crumb" in foreign.text
    assert emu.items == {}
    ok = alice.post(url, data=body, headers={**XML, "Jenkins-Crumb": alice_crumb})
    assert ok.status_code == 200
    assert alice.get(emu.url + "api/json").status_code == 200


def test_cookie_from_token_request_is_anonymous(emu: JenkinsEmulator) -> None:
    r = requests.get(emu.url + "crumbIssuer/api/json", auth=(USER, TOKEN))
    cookies = r.cookies
    assert requests.get(emu.url + "api/json", cookies=cookies).status_code == 403


# ---- python-jenkins end to end ------------------------------------------------------------


def test_python_jenkins_end_to_end(emu: JenkinsEmulator) -> None:
    server = jenkins.Jenkins(emu.url, USER, TOKEN)
    assert server.get_whoami()["id"] == USER
    assert server.get_version() == "2.568.2"
    server.create_folder("team")
    server.create_job("team/svc", PIPELINE.format(desc="managed"))
    assert server.job_exists("team/svc")
    assert not server.job_exists("team/other")
    config = server.get_job_config("team/svc")
    assert config.startswith('<?xml version="1.1" encoding="UTF-8"?>')
    assert "<description>managed</description>" in config
    server.reconfig_job("team/svc", PIPELINE.format(desc="changed"))
    assert server.get_job_info("team/svc")["description"] == "changed"
    server.disable_job("team/svc")
    assert server.get_job_info("team/svc")["color"] == "disabled"
    assert "<disabled>true</disabled>" in server.get_job_config("team/svc")
    assert emu.items["team/svc"].disabled
    server.enable_job("team/svc")
    info = server.get_job_info("team/svc")
    assert info["color"] == "notbuilt" and info["buildable"] is True
    names = sorted(j["fullname"] for j in server.get_all_jobs())
    assert names == ["team", "team/svc"]
    plugins = server.get_plugins()
    assert plugins["workflow-job"]["version"] == emu.plugins["workflow-job"]
    server.delete_job("team/svc")
    assert not server.job_exists("team/svc")
    assert set(emu.items) == {"team"}
    with pytest.raises(jenkins.JenkinsException, match="folder for the job does not exist"):
        server.create_job("missing/svc", PIPELINE.format(desc=""))


def test_python_jenkins_get_version_first_call_is_anonymous(emu: JenkinsEmulator) -> None:
    # python-jenkins resolves auth lazily; get_version() bypasses that, as against real Jenkins.
    with pytest.raises(jenkins.BadHTTPException):
        jenkins.Jenkins(emu.url, USER, TOKEN).get_version()


# ---- createItem and names -----------------------------------------------------------------


@pytest.mark.parametrize("ch", list("?*/\\%!@#$^&|<>[]:;"))
def test_unsafe_characters(emu: JenkinsEmulator, http: requests.Session, ch: str) -> None:
    r = create(http, emu, "", f"a{ch}b", PIPELINE.format(desc=""))
    assert r.status_code == 400
    assert r.headers["X-Error"] == f"?{ch}? is an unsafe character"
    assert f"‘{ch}’ is an unsafe character" in r.text or ch in "<>&"
    assert emu.items == {}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "No name is specified"),
        ("   ", "No name is specified"),
        (".", "“.” is not an allowed name"),
        (" .. ", "“..” is not an allowed name"),
        ("job.", "A name cannot end with ‘.’"),
        ("a\x07b", "No control code is allowed: a\\u7;b"),
        ("a\x7fb", "No control code is allowed: a\\u127;b"),
    ],
)
def test_bad_names(emu: JenkinsEmulator, http: requests.Session, name: str, message: str) -> None:
    r = create(http, emu, "", name, PIPELINE.format(desc=""))
    assert r.status_code == 400
    assert r.headers["X-Error"] == message.replace("“", "?").replace("”", "?").replace(
        "‘", "?"
    ).replace("’", "?")
    assert emu.items == {}


def test_create_item_preconditions(emu: JenkinsEmulator, http: requests.Session) -> None:
    body = PIPELINE.format(desc="").encode()
    no_type = http.post(emu.url + "createItem?name=x", data=body, headers={"Content-Type": ""})
    assert no_type.status_code == 400
    no_name = http.post(emu.url + "createItem", data=body, headers=XML)
    assert no_name.headers["X-Error"] == "Query parameter 'name' is required"
    get = http.get(emu.url + "createItem?name=x")
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    assert emu.items == {}


def test_names_are_trimmed_and_case_insensitive(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    assert create(http, emu, "", "  My Job ", PIPELINE.format(desc="")).status_code == 200
    assert set(emu.items) == {"My Job"}
    dup = create(http, emu, "", "my job", PIPELINE.format(desc=""))
    assert dup.status_code == 400
    assert dup.headers["X-Error"] == "A job already exists with the name ?my job?"
    info = http.get(emu.url + "job/MY%20JOB/api/json").json()
    assert (info["name"], info["url"]) == ("My Job", emu.url + "job/My%20Job/")


def test_malformed_xml_is_500_and_leaves_nothing(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    for body in ("<flow-definition><oops></flow-definition>", "<unknown-type/>"):
        r = create(http, emu, "", "broken", body)
        assert r.status_code == 500
    assert emu.items == {}
    assert http.get(emu.url + "job/broken/api/json").status_code == 404


def test_missing_parents_are_404(emu: JenkinsEmulator, http: requests.Session) -> None:
    assert create(http, emu, "job/nope/", "x", PIPELINE.format(desc="")).status_code == 404
    assert create(http, emu, "", "plain", PIPELINE.format(desc="")).status_code == 200
    # only folders hold items
    assert create(http, emu, "job/plain/", "x", PIPELINE.format(desc="")).status_code == 404
    for path in ("config.xml", "api/json"):
        assert http.get(f"{emu.url}job/ghost/{path}").status_code == 404
    assert http.post(emu.url + "job/ghost/doDelete").status_code == 404


def test_nested_folders_and_scoped_names(emu: JenkinsEmulator, http: requests.Session) -> None:
    assert create(http, emu, "", "a", FOLDER.format(desc="A")).status_code == 200
    assert create(http, emu, "job/a/", "b", FOLDER.format(desc="B")).status_code == 200
    assert create(http, emu, "job/a/job/b/", "a", PIPELINE.format(desc="x")).status_code == 200
    assert create(http, emu, "", "b", PIPELINE.format(desc="y")).status_code == 200
    assert emu.items["a/b/a"].kind == "job"
    assert emu.items["a/b"].kind == "folder"
    info = http.get(emu.url + "job/a/job/b/job/a/api/json").json()
    assert (info["fullName"], info["url"]) == ("a/b/a", emu.url + "job/a/job/b/job/a/")


def test_multibranch_is_a_group_without_create_item(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    tag = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    assert create(http, emu, "", "mb", f"<{tag}><description>m</description></{tag}>").ok
    data = http.get(emu.url + "job/mb/api/json").json()
    assert data["_class"] == tag and data["jobs"] == [] and "color" not in data
    assert emu.items["mb"].kind == "multibranch"
    # branch jobs are computed, never posted: ComputedFolder has no doCreateItem
    assert create(http, emu, "job/mb/", "x", PIPELINE.format(desc="")).status_code == 404
    assert http.post(emu.url + "job/mb/disable").status_code == 404


def test_form_create_folder_redirects_to_configure(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    r = http.post(
        emu.url + "createItem",
        data={"name": "f", "mode": "com.cloudbees.hudson.plugins.folder.Folder"},
        allow_redirects=False,
    )
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/job/f/configure")
    assert emu.items["f"].kind == "folder"
    unknown = http.post(emu.url + "createItem", data={"name": "g", "mode": "nope"})
    assert unknown.headers["X-Error"] == "No item type ?nope? is known"


# ---- config.xml, delete, disable/enable ---------------------------------------------------


def test_config_xml_round_trip(emu: JenkinsEmulator, http: requests.Session) -> None:
    create(http, emu, "", "j", PIPELINE.format(desc="one"))
    r = http.get(emu.url + "job/j/config.xml")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/xml")
    assert "X-Jenkins" not in r.headers
    assert r.text.startswith('<?xml version="1.1" encoding="UTF-8"?>\n<flow-definition plugin=')
    # Jenkins' own output (XML 1.1 header) can be posted back
    assert http.post(emu.url + "job/j/config.xml", data=r.content, headers=XML).status_code == 200
    bad = http.post(emu.url + "job/j/config.xml", data=b"<flow-definition>", headers=XML)
    assert bad.status_code == 500
    other = http.post(emu.url + "job/j/config.xml", data=FOLDER.format(desc=""), headers=XML)
    assert other.status_code == 500
    assert emu.items["j"].description == "one"
    assert http.put(emu.url + "job/j/config.xml", data=b"").status_code == 400


def test_delete_redirects_to_parent_and_takes_children(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    create(http, emu, "", "f", FOLDER.format(desc=""))
    create(http, emu, "job/f/", "j1", PIPELINE.format(desc=""))
    create(http, emu, "job/f/", "j2", PIPELINE.format(desc=""))
    r = http.post(emu.url + "job/f/job/j1/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "job/f/"
    assert http.get(emu.url + "job/f/doDelete").status_code == 405
    r = http.post(emu.url + "job/f/doDelete", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url
    assert emu.items == {}


def test_disable_enable(emu: JenkinsEmulator, http: requests.Session) -> None:
    create(http, emu, "", "j", PIPELINE.format(desc=""))
    r = http.post(emu.url + "job/j/disable", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == emu.url + "job/j/"
    info = http.get(emu.url + "job/j/api/json").json()
    assert info["color"] == "disabled" and info["buildable"] is False
    assert http.get(emu.url + "job/j/enable").status_code == 405
    http.post(emu.url + "job/j/enable")
    assert http.get(emu.url + "job/j/api/json?tree=color").json()["color"] == "notbuilt"
    assert "<disabled>false</disabled>" in emu.items["j"].config_xml


def test_description_endpoint(emu: JenkinsEmulator, http: requests.Session) -> None:
    create(http, emu, "", "j", PIPELINE.format(desc="old"))
    assert http.get(emu.url + "job/j/description").text == "old"
    r = http.post(emu.url + "job/j/description", data={"description": "new"})
    assert r.status_code == 204
    assert emu.items["j"].description == "new"
    assert "<description>new</description>" in http.get(emu.url + "job/j/config.xml").text


# ---- api/json -----------------------------------------------------------------------------


def _tree_fixture(emu: JenkinsEmulator, http: requests.Session) -> None:
    create(http, emu, "", "team", FOLDER.format(desc="folder-marker"))
    create(http, emu, "job/team/", "svc", PIPELINE.format(desc="job-marker"))
    create(http, emu, "", "Alpha", PIPELINE.format(desc=""))


def test_root_default_depth(emu: JenkinsEmulator, http: requests.Session) -> None:
    _tree_fixture(emu, http)
    r = http.get(emu.url + "api/json")
    assert r.headers["X-Jenkins"] == "2.568.2"
    assert r.headers["X-Frame-Options"] == "deny"
    data = r.json()
    assert data["_class"] == "hudson.model.Hudson"
    assert data["url"] is None and data["useCrumbs"] is True
    assert data["views"][0] == {"_class": "hudson.model.AllView", "name": "all", "url": emu.url}
    alpha, team = data["jobs"]  # case-insensitive order
    assert alpha == {
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
        "name": "Alpha",
        "url": emu.url + "job/Alpha/",
        "color": "notbuilt",
    }
    assert team == {
        "_class": "com.cloudbees.hudson.plugins.folder.Folder",
        "name": "team",
        "url": emu.url + "job/team/",
    }


def test_depth_one_and_folder_shape(emu: JenkinsEmulator, http: requests.Session) -> None:
    _tree_fixture(emu, http)
    folder = http.get(emu.url + "job/team/api/json?depth=1").json()
    assert "color" not in folder
    assert folder["description"] == "folder-marker"
    (svc,) = folder["jobs"]
    assert svc["description"] == "job-marker" and svc["nextBuildNumber"] == 1
    job = http.get(emu.url + "job/team/job/svc/api/json").json()
    assert job["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert job["builds"] == [] and job["lastBuild"] is None and job["inQueue"] is False


def test_tree_nested_and_class_rules(emu: JenkinsEmulator, http: requests.Session) -> None:
    _tree_fixture(emu, http)
    q = "jobs[name,fullName,description,color,jobs[name,fullName,description,color]]"
    data = http.get(emu.url + "api/json", params={"tree": q}).json()
    assert set(data) == {"_class", "jobs"}
    alpha, team = data["jobs"]
    assert "color" not in team and team["description"] == "folder-marker"
    assert team["jobs"] == [
        {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "name": "svc",
            "fullName": "team/svc",
            "description": "job-marker",
            "color": "notbuilt",
        }
    ]
    assert alpha["description"] == ""
    # a bare property name yields objects with only _class; tree wins over depth
    bare = http.get(emu.url + "api/json?tree=jobs&depth=3").json()
    assert bare["jobs"] == [{"_class": j["_class"]} for j in data["jobs"]]
    ranged = http.get(emu.url + "api/json?tree=jobs[name]{1,}").json()
    assert ranged["jobs"] == [{"_class": team["_class"], "name": "team"}]
    assert http.get(emu.url + "api/json?tree=jobs[name]{0}").json()["jobs"][0]["name"] == "Alpha"


@pytest.mark.parametrize("tree", ["jobs[name", "jobs[]", "jobs]", ",", "jobs{a}", "jobs[name]x"])
def test_malformed_tree_is_500(emu: JenkinsEmulator, http: requests.Session, tree: str) -> None:
    assert http.get(emu.url + "api/json", params={"tree": tree}).status_code == 500


def test_plugin_manager(emu: JenkinsEmulator, http: requests.Session) -> None:
    shallow = http.get(emu.url + "pluginManager/api/json").json()
    assert shallow["_class"] == "hudson.LocalPluginManager"
    assert all(p == {} for p in shallow["plugins"])
    assert len(shallow["plugins"]) == len(DEFAULT_PLUGINS)
    q = "depth=1&tree=plugins[shortName,version,active,enabled]"
    plugins = http.get(emu.url + "pluginManager/api/json?" + q).json()["plugins"]
    assert {"shortName", "version", "active", "enabled"} == set(plugins[0])
    assert {p["shortName"] for p in plugins} >= {"workflow-job", "cloudbees-folder", "git"}


def test_missing_plugin_means_unknown_item_type() -> None:
    with JenkinsEmulator(users={USER: TOKEN}, plugins={"git": "5.7.0"}) as emu:
        r = requests.post(
            emu.url + "createItem?name=p",
            data=PIPELINE.format(desc=""),
            headers=XML,
            auth=(USER, TOKEN),
        )
        assert r.status_code == 500
        ok = requests.post(
            emu.url + "createItem?name=fs", data="<project/>", headers=XML, auth=(USER, TOKEN)
        )
        assert (
            ok.status_code == 200 and emu.items["fs"].class_name == "hudson.model.FreeStyleProject"
        )


def test_root_page_headers(emu: JenkinsEmulator, http: requests.Session) -> None:
    r = http.get(emu.url)
    assert r.status_code == 200
    assert r.headers["X-Hudson"] == "1.395" and r.headers["X-Jenkins"] == "2.568.2"
    assert http.get(emu.url + "no/such/page").status_code == 404


# ---- faults and counters ------------------------------------------------------------------


def test_error_rate_one_fails_everything_without_side_effects(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    emu.faults = FaultInjection(error_rate=1.0, seed=3)
    statuses = {
        create(http, emu, "", f"j{i}", PIPELINE.format(desc="")).status_code for i in range(30)
    }
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert emu.items == {}
    assert emu.requests.errors_injected == 30
    emu.faults = None
    assert create(http, emu, "", "j0", PIPELINE.format(desc="")).status_code == 200


def test_resets_raise_connection_error(emu: JenkinsEmulator, http: requests.Session) -> None:
    emu.faults = FaultInjection(reset_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        http.get(emu.url + "api/json")
    with pytest.raises(requests.ConnectionError):
        create(http, emu, "", "j", PIPELINE.format(desc=""))
    assert emu.requests.resets_injected == 2
    assert emu.items == {}


def test_seeded_faults_are_reproducible_and_fail_after() -> None:
    def outcomes(faults: FaultInjection) -> list[str]:
        return [faults.decide()[0] for _ in range(200)]

    a = outcomes(FaultInjection(error_rate=0.2, reset_rate=0.1, seed=7))
    assert a == outcomes(FaultInjection(error_rate=0.2, reset_rate=0.1, seed=7))
    assert 20 < a.count("error") < 60 and 5 < a.count("reset") < 40
    dying = outcomes(FaultInjection(fail_after=10, fail_with="reset"))
    assert dying[:10] == ["ok"] * 10 and set(dying[10:]) == {"reset"}
    with pytest.raises(ValueError):
        FaultInjection(error_rate=0.8, reset_rate=0.5)


def test_latency_is_applied(emu: JenkinsEmulator, http: requests.Session) -> None:
    emu.faults = FaultInjection(latency=0.2)
    r = http.get(emu.url + "api/json")
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.2


def test_counters_and_log(emu: JenkinsEmulator, http: requests.Session) -> None:
    create(http, emu, "", "j", PIPELINE.format(desc=""))
    http.get(emu.url + "job/j/api/json?tree=name")
    http.get(emu.url + "job/j/config.xml")
    http.post(emu.url + "job/j/config.xml", data=PIPELINE.format(desc="x"), headers=XML)
    http.post(emu.url + "job/j/disable", allow_redirects=False)
    http.get(emu.url + "crumbIssuer/api/json")
    http.get(emu.url + "pluginManager/api/json")
    http.post(emu.url + "job/j/doDelete", allow_redirects=False)
    c = emu.requests
    assert c.total == 8
    assert c[("POST", "createItem")] == 1 and c[("GET", "api/json")] == 1
    assert c[("GET", "config.xml")] == 1 and c[("POST", "config.xml")] == 1
    assert c[("POST", "disable")] == 1 and c[("POST", "doDelete")] == 1
    assert c[("GET", "crumbIssuer")] == 1 and c[("GET", "pluginManager")] == 1
    assert emu.request_log[0] == ("POST", "/createItem?name=j")
    emu.reset_counters()
    assert emu.requests.total == 0 and emu.request_log == []


def test_concurrent_creates_are_consistent(emu: JenkinsEmulator) -> None:
    errors: list[int] = []

    def worker(n: int) -> None:
        with requests.Session() as s:
            s.auth = (USER, TOKEN)
            for i in range(20):
                r = s.post(
                    emu.url + f"createItem?name=job-{i}",
                    data=PIPELINE.format(desc=str(n)),
                    headers=XML,
                )
                if r.status_code != 200:
                    errors.append(r.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(emu.items) == 20
    assert errors == [400] * 60
    assert emu.requests[("POST", "createItem")] == 80

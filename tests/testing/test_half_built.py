"""Objects Jenkins loads half-built (XStream runs no constructor) fail the requests that later
use them, in the emulator as in Jenkins; and a declarative build rewrites its job's config."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests

from jenkins_bridge.testing import JenkinsEmulator

USER, TOKEN = "admin", "token123"
XML = {"Content-Type": "application/xml"}
FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
MB_CLASS = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
EMPTY_HOLDER = (
    '<folderViews class="com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder"/>'
)
# as cloudbees-folder saves a folder made in the UI (AbstractFolder.newFolderViewHolder)
FULL_HOLDER = (
    '<folderViews class="com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder">'
    f'<views><hudson.model.AllView><owner class="{FOLDER_CLASS}" reference="../../../.."/>'
    "<name>All</name><filterExecutors>false</filterExecutors><filterQueue>false</filterQueue>"
    '<properties class="hudson.model.View$PropertyList"/></hudson.model.AllView></views>'
    '<tabBar class="hudson.views.DefaultViewsTabBar"/></folderViews>'
)
JOB = "<flow-definition><actions/><description>d</description><properties/></flow-definition>"


@pytest.fixture
def emu() -> Iterator[JenkinsEmulator]:
    with JenkinsEmulator(users={USER: TOKEN}) as emulator:
        yield emulator


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (USER, TOKEN)
        yield session


def folder(holder: str) -> str:
    return f"<{FOLDER_CLASS}><actions/><description/><properties/>{holder}</{FOLDER_CLASS}>"


def multibranch(holder: str) -> str:
    return f"<{MB_CLASS}><actions/><description/><properties/>{holder}</{MB_CLASS}>"


def create(http: requests.Session, url: str, name: str, xml: str) -> int:
    r = http.post(f"{url}createItem", params={"name": name}, data=xml, headers=XML)
    return r.status_code


def delete(http: requests.Session, url: str) -> requests.Response:
    return http.post(f"{url}doDelete", allow_redirects=False)


def test_empty_default_view_holder_breaks_the_folder_page_and_every_delete_inside(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    assert create(http, emu.url, "team", folder(EMPTY_HOLDER)) == 200  # Jenkins accepts it
    team = f"{emu.url}job/team/"
    assert create(http, team, "a", JOB) == 200
    assert create(http, team, "b", JOB) == 200
    assert http.get(team).status_code == 500
    assert http.get(team + "api/json").status_code == 500  # views/primaryView are exported
    listing = http.get(emu.url + "api/json", params={"tree": "jobs[name,jobs[name]]"})
    assert listing.status_code == 200  # the listing never touches the views
    deleted = delete(http, team + "job/a/")
    assert deleted.status_code == 500 and "NullPointerException" in deleted.text
    assert "team/a" not in emu.items  # AbstractFolder.onDeleted removed it before the NPE
    # deleting the folder deletes its children first: the first one fails the request
    refused = delete(http, team)
    assert refused.status_code == 500 and "Failed to delete team » b" in refused.text
    assert "team" in emu.items


@pytest.mark.parametrize("holder", ["", FULL_HOLDER], ids=["left-out", "complete"])
def test_a_folder_without_holder_or_with_a_complete_one_works(
    emu: JenkinsEmulator, http: requests.Session, holder: str
) -> None:
    assert create(http, emu.url, "team", folder(holder)) == 200
    team = f"{emu.url}job/team/"
    assert create(http, team, "a", JOB) == 200
    assert http.get(team).status_code == 200
    views = http.get(team + "api/json").json()["views"]
    assert [v["name"] for v in views] == ["all"]
    assert delete(http, team + "job/a/").status_code == 302
    assert delete(http, team).status_code == 302 and emu.items == {}


def test_holder_without_tab_bar_breaks_only_the_page(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    assert create(http, emu.url, "team", folder(FULL_HOLDER.replace("<tabBar", "<x"))) == 200
    team = f"{emu.url}job/team/"
    assert http.get(team).status_code == 500
    assert http.get(team + "api/json").status_code == 200
    assert delete(http, team).status_code == 302


def test_multibranch_view_holder_without_owner_breaks_page_api_and_orphan_deletes(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    broken = '<folderViews class="jenkins.branch.MultiBranchProjectViewHolder"/>'
    assert create(http, emu.url, "web", multibranch(broken)) == 200
    emu.add_branch("web", "feature-x")
    web = f"{emu.url}job/web/"
    assert http.get(web).status_code == 500
    assert http.get(web + "api/json").status_code == 500
    orphan = delete(http, web + "job/feature-x/")
    assert orphan.status_code == 500 and "this.owner" in orphan.text


def test_multibranch_view_holder_with_owner_works(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    holder = (
        '<folderViews class="jenkins.branch.MultiBranchProjectViewHolder">'
        f'<owner class="{MB_CLASS}" reference="../.."/></folderViews>'
    )
    assert create(http, emu.url, "web", multibranch(holder)) == 200
    emu.add_branch("web", "feature-x")
    web = f"{emu.url}job/web/"
    assert http.get(web).status_code == 200
    assert http.get(web + "api/json").json()["jobs"][0]["name"] == "feature-x"
    assert delete(http, web + "job/feature-x/").status_code == 302


PARAMETERIZED = """<flow-definition>
  <actions/>
  <description>d</description>
  <properties>
    <hudson.model.ParametersDefinitionProperty>
      <parameterDefinitions>
        <hudson.model.StringParameterDefinition>
          <name>TARGET</name>
          <description></description>
          <defaultValue></defaultValue>
          <trim>true</trim>
        </hudson.model.StringParameterDefinition>
      </parameterDefinitions>
    </hudson.model.ParametersDefinitionProperty>
    <jenkins.model.BuildDiscarderProperty>
      <strategy class="hudson.tasks.LogRotator"><daysToKeep>-1</daysToKeep>
      <numToKeep>5</numToKeep><artifactDaysToKeep>-1</artifactDaysToKeep>
      <artifactNumToKeep>-1</artifactNumToKeep></strategy>
    </jenkins.model.BuildDiscarderProperty>
  </properties>
  <disabled>false</disabled>
</flow-definition>"""


def test_first_declarative_build_saves_tracker_and_rebinds_parameters(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    assert create(http, emu.url, "p", PARAMETERIZED) == 200
    assert http.post(emu.url + "job/p/build").status_code == 500  # parameterized: needs a form
    queued = http.post(emu.url + "job/p/buildWithParameters", allow_redirects=False)
    assert queued.status_code == 201 and "/queue/item/" in queued.headers["Location"]
    run = http.get(emu.url + "job/p/api/json", params={"tree": "lastCompletedBuild[number]"})
    assert run.json()["lastCompletedBuild"]["number"] == 1
    saved = ET.fromstring(http.get(emu.url + "job/p/config.xml").content)
    actions = [a.tag.rsplit(".", 1)[-1] for a in saved.find("actions") or []]
    assert actions == ["DeclarativeJobAction", "DeclarativeJobPropertyTrackerAction"]
    tracker = saved.find("actions")[1]  # type: ignore[index]
    assert [s.text for s in tracker.iterfind("jobProperties/string")] == [
        "jenkins.model.BuildDiscarderProperty"
    ]
    assert [s.text for s in tracker.iterfind("parameters/string")] == ["TARGET"]
    assert tracker.find("options") is not None and len(tracker.find("options")) == 0  # type: ignore[arg-type]
    # "" differs from the null the parameters block binds (Util.fixEmpty): the property is
    # removed and added again, so it moves to the end, without the empty elements
    properties = [p.tag for p in saved.find("properties")]  # type: ignore[union-attr]
    assert properties == [
        "jenkins.model.BuildDiscarderProperty",
        "hudson.model.ParametersDefinitionProperty",
    ]
    definition = saved.find(".//hudson.model.StringParameterDefinition")
    assert definition is not None
    assert [c.tag for c in definition] == ["name", "trim"]


def test_build_answers_as_parameterized_job_mixin(
    emu: JenkinsEmulator, http: requests.Session
) -> None:
    assert create(http, emu.url, "plain", JOB) == 200
    assert http.get(emu.url + "job/plain/build").status_code == 405  # @RequirePOST
    assert http.post(emu.url + "job/plain/buildWithParameters").status_code == 400
    assert http.post(emu.url + "job/plain/build", allow_redirects=False).status_code == 201
    assert http.post(emu.url + "job/plain/disable").ok
    assert http.post(emu.url + "job/plain/build").status_code == 409
    assert emu.items["plain"].config_xml.count("DeclarativeJobPropertyTrackerAction plugin=") == 1


def test_a_build_that_finds_its_properties_equal_leaves_them_in_place(
    emu: JenkinsEmulator,
) -> None:
    bound = PARAMETERIZED.replace("<description></description>", "<description>x</description>")
    bound = bound.replace("<defaultValue></defaultValue>", "<defaultValue>y</defaultValue>")
    with requests.Session() as http:
        http.auth = (USER, TOKEN)
        assert create(http, emu.url, "p", bound) == 200
        before = ET.fromstring(http.get(emu.url + "job/p/config.xml").content)
    emu.build("p")
    emu.build("p")  # a second build finds the tracker unchanged: nothing more is added
    after = ET.fromstring(emu.items["p"].config_xml.split("\n", 1)[1])
    assert [p.tag for p in after.find("properties")] == [  # type: ignore[union-attr]
        p.tag
        for p in before.find("properties")  # type: ignore[union-attr]
    ]
    assert len(after.find("actions")) == 2  # type: ignore[arg-type]

package org.jenkinsci.plugins.workflow.libs

import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

// Stand-in for pipeline-groovy-lib's @Library (the harness loads vars/ itself).
@Retention(RetentionPolicy.SOURCE)
@interface Library {
    String[] value()
}

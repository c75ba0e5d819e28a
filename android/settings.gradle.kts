// The Android app for Android Studio users. NEVER RUN on the project's machines: Gradle, the
// Android Gradle Plugin and Google's Maven repository are not reachable there. What is built
// and tested there is the Maven build beside this file (pom.xml), over the same sources.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "lgt-field"
include(":app")

// The app module. NEVER RUN on the project's machines (no Gradle, no Android SDK there); the
// Maven build (../pom.xml) compiles the same sources against the same API level and runs the
// Robolectric tests. Before building: ../build-rust-android.sh (the core for the four ABIs
// into src/main/jniLibs) and ../../bindings/generate.sh (the generated Kotlin).
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "cn.lgt.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "cn.lgt.app"
        // 28: the Keystore key for an unlocked device only, and StrongBox (KeystoreKeyProvider).
        minSdk = 28
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64", "x86") }
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
    }

    sourceSets["main"].apply {
        // One copy of the Kotlin bindings: the generated code, the suspend layer, the Keystore provider.
        kotlin.srcDirs(
            "src/main/kotlin",
            "../../bindings/kotlin/target/generated",
            "../../bindings/kotlin/src/main/kotlin",
            "../../bindings/kotlin/android",
        )
        jniLibs.srcDirs("src/main/jniLibs")
    }
    sourceSets["test"].apply {
        kotlin.srcDirs("src/test/kotlin", "../../bindings/kotlin/src/testFixtures/kotlin")
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            // JNA and the generated UniFFI code are reached by reflection.
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    testOptions { unitTests.isIncludeAndroidResources = true }
}

dependencies {
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    // JNA's Android build carries its libjnidispatch.so for each ABI.
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    testImplementation("org.robolectric:robolectric:4.14.1")
    testImplementation("junit:junit:4.13.2")
    // The host's JNA (not the AAR) for the Robolectric tests on the JVM.
    testImplementation("net.java.dev.jna:jna:5.19.1")
}

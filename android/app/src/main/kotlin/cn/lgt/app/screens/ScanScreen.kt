package cn.lgt.app.screens

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.SurfaceTexture
import android.view.TextureView
import android.widget.LinearLayout
import cn.lgt.app.R
import cn.lgt.app.camera.CameraSession
import cn.lgt.app.camera.FrameGate
import cn.lgt.app.camera.LumaCrop
import cn.lgt.app.ui.Screen
import cn.lgt.app.ui.TextKind
import cn.lgt.app.ui.dp
import cn.lgt.app.ui.text
import cn.lgt.core.ScanOptions
import cn.lgt.core.ScanResult
import cn.lgt.core.types.ScanMode
import cn.lgt.field.FieldScanner

/**
 * The camera: frames from [CameraSession] pass the [gate] (one at a time, the region's rows
 * only) to the core's scanner; the first code read goes to [onResult] and the screen closes.
 * The scanner (one per camera session) keeps its decoders between frames.
 */
class ScanScreen(
    override val title: Int,
    private val hint: Int,
    private val onResult: (ScanResult) -> Unit,
) : Screen() {
    override val personalData = true
    private var scanner: FieldScanner? = null
    private var camera: CameraSession? = null
    @Volatile
    private var delivered = false

    /** Where camera frames enter; the tests hand it frames as the ImageReader would. */
    val gate = FrameGate(::decode)

    override fun build(root: LinearLayout) {
        scanner = core.scanner()
        root.text(hint, TextKind.HINT)
        val preview = TextureView(host)
        root.addView(preview, LinearLayout.LayoutParams(-1, host.dp(360)))
        if (host.checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
            host.requestPermissions(arrayOf(Manifest.permission.CAMERA), CAMERA_REQUEST)
        }
        preview.surfaceTextureListener = object : TextureView.SurfaceTextureListener {
            override fun onSurfaceTextureAvailable(texture: SurfaceTexture, width: Int, height: Int) = openCamera(texture)
            override fun onSurfaceTextureSizeChanged(texture: SurfaceTexture, width: Int, height: Int) = Unit
            override fun onSurfaceTextureDestroyed(texture: SurfaceTexture): Boolean = true.also { closeCamera() }
            override fun onSurfaceTextureUpdated(texture: SurfaceTexture) = Unit
        }
    }

    private fun openCamera(texture: SurfaceTexture) {
        if (host.checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
            host.showMessage(string(R.string.camera_permission))
            return
        }
        val session = CameraSession(host, gate)
        val id = session.backCamera()
        if (id == null) {
            host.showMessage(string(R.string.camera_missing))
            return
        }
        camera = session
        session.open(id, texture)
    }

    /** Called for each frame the gate lets through (on the camera's thread). */
    private fun decode(crop: LumaCrop, done: () -> Unit) {
        val scanner = scanner
        if (delivered || scanner == null) return done()
        launch {
            try {
                val options = ScanOptions(mode = ScanMode.LIVE, region = crop.region, budgetMs = null)
                val result = scanner.scanFrame(crop.bytes, crop.width, crop.height, crop.rowStride, options)
                if (result != null && !delivered) {
                    delivered = true
                    host.back()
                    onResult(result)
                }
            } finally {
                done()
            }
        }
    }

    private fun closeCamera() {
        camera?.close()
        camera = null
    }

    override fun onLeave() {
        closeCamera()
        scanner?.close()
        scanner = null
    }

    companion object {
        const val CAMERA_REQUEST = 7
    }
}

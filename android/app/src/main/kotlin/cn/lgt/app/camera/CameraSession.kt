package cn.lgt.app.camera

import android.annotation.SuppressLint
import android.content.Context
import cn.lgt.app.service
import android.graphics.ImageFormat
import android.graphics.SurfaceTexture
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CaptureRequest
import android.hardware.camera2.params.OutputConfiguration
import android.hardware.camera2.params.SessionConfiguration
import android.media.ImageReader
import android.os.Handler
import android.os.HandlerThread
import android.util.Size
import android.view.Surface
import java.util.concurrent.Executor

/**
 * The back camera through Camera2: a preview on [preview] and an ImageReader in YUV_420_888
 * whose frames go to [gate] (luma plane, the viewfinder's region). Frames are read on a
 * camera thread of their own; [ImageReader.acquireLatestImage] skips frames that piled up, and
 * the gate drops the ones that arrive while a decode runs. Nothing of a frame is kept or
 * logged. Never run on these machines: there is no camera under Robolectric.
 */
class CameraSession(private val context: Context, private val gate: FrameGate) {
    private val thread = HandlerThread("lgt-camera").apply { start() }
    private val handler = Handler(thread.looper)
    private val executor = Executor { handler.post(it) }
    private var device: CameraDevice? = null
    private var session: CameraCaptureSession? = null
    private var reader: ImageReader? = null

    /** The back camera's id, or null on a phone without one. */
    fun backCamera(): String? {
        val manager = context.service<CameraManager>()
        return manager.cameraIdList.firstOrNull {
            manager.getCameraCharacteristics(it).get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_BACK
        }
    }

    /** Opens the camera (the CAMERA permission is granted). */
    @SuppressLint("MissingPermission")
    fun open(cameraId: String, preview: SurfaceTexture) {
        val manager = context.service<CameraManager>()
        val size = frameSize(manager, cameraId)
        val frames = ImageReader.newInstance(size.width, size.height, ImageFormat.YUV_420_888, 2).apply {
            setOnImageAvailableListener({ r ->
                r.acquireLatestImage()?.use { image -> gate.offer(image.lumaPlane(), centreRegion(image.width, image.height)) }
            }, handler)
        }
        reader = frames
        preview.setDefaultBufferSize(size.width, size.height)
        val previewSurface = Surface(preview)
        manager.openCamera(cameraId, executor, object : CameraDevice.StateCallback() {
            override fun onOpened(camera: CameraDevice) {
                device = camera
                startSession(camera, previewSurface, frames.surface)
            }

            override fun onDisconnected(camera: CameraDevice) = camera.close()

            override fun onError(camera: CameraDevice, error: Int) = camera.close()
        })
    }

    private fun startSession(camera: CameraDevice, preview: Surface, frames: Surface) {
        val outputs = listOf(OutputConfiguration(preview), OutputConfiguration(frames))
        val config = SessionConfiguration(SessionConfiguration.SESSION_REGULAR, outputs, executor, object : CameraCaptureSession.StateCallback() {
            override fun onConfigured(configured: CameraCaptureSession) {
                session = configured
                val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                    addTarget(preview)
                    addTarget(frames)
                    set(CaptureRequest.CONTROL_AF_MODE, CaptureRequest.CONTROL_AF_MODE_CONTINUOUS_PICTURE)
                }.build()
                configured.setRepeatingRequest(request, null, handler)
            }

            override fun onConfigureFailed(failed: CameraCaptureSession) = failed.close()
        })
        camera.createCaptureSession(config)
    }

    /** A YUV size near 1280x720: enough for a QR at arm's length, small enough to decode fast. */
    private fun frameSize(manager: CameraManager, cameraId: String): Size {
        val map = manager.getCameraCharacteristics(cameraId).get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP)
        val sizes = map?.getOutputSizes(ImageFormat.YUV_420_888).orEmpty()
        return sizes.minByOrNull { Math.abs(it.width * it.height - 1280 * 720) } ?: Size(1280, 720)
    }

    fun close() {
        session?.close()
        device?.close()
        reader?.close()
        session = null
        device = null
        reader = null
        thread.quitSafely()
    }
}

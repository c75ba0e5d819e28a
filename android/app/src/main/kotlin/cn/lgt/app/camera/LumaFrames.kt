package cn.lgt.app.camera

import android.media.Image
import cn.lgt.core.types.ScanRegion
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * A camera frame's luma (Y) plane as Camera2 hands it over in YUV_420_888: rows [rowStride]
 * bytes apart (the camera pads rows), one byte a pixel. The buffer belongs to the camera and is
 * valid only until its Image is closed.
 */
class LumaPlane(val buffer: ByteBuffer, val width: Int, val height: Int, val rowStride: Int)

/** Plane 0 of a YUV_420_888 Image is its luma, one byte a pixel (pixel stride 1). */
fun Image.lumaPlane(): LumaPlane = planes[0].let { LumaPlane(it.buffer, width, height, it.rowStride) }

/**
 * What the core's scanner takes for one frame: the rows of the viewfinder's region only, as the
 * camera laid them out (stride kept), and the region's columns within them.
 */
class LumaCrop(val bytes: ByteArray, val width: Int, val height: Int, val rowStride: Int, val region: ScanRegion)

/**
 * The rows [region] covers, copied out of the camera's buffer (the one copy a frame costs:
 * the core takes the bytes, and the camera wants its buffer back). Rows above and below the
 * region are never read; the last row may be shorter than the stride, as cameras hand it over.
 * [scratch] is reused when it has the right size.
 */
fun LumaPlane.crop(region: ScanRegion, scratch: ByteArray? = null): LumaCrop {
    val top = region.y.toInt()
    val rows = region.height.toInt()
    require(top >= 0 && rows > 0 && top + rows <= height && region.x.toInt() + region.width.toInt() <= width) { "region outside the frame" }
    val size = (rows - 1) * rowStride + width
    val bytes = if (scratch != null && scratch.size == size) scratch else ByteArray(size)
    val source = buffer.duplicate()
    source.position(top * rowStride)
    source.get(bytes, 0, size)
    return LumaCrop(bytes, width, rows, rowStride, ScanRegion(region.x, 0u, region.width, region.height))
}

/** The square in the middle of the frame, [fraction] of its shorter side: the viewfinder box. */
fun centreRegion(width: Int, height: Int, fraction: Float = 0.75f): ScanRegion {
    val side = (minOf(width, height) * fraction).toInt()
    return ScanRegion(((width - side) / 2).toUInt(), ((height - side) / 2).toUInt(), side.toUInt(), side.toUInt())
}

/**
 * One frame at a time to the decoder: a frame that arrives while the previous one is being
 * decoded is dropped without being copied (its Image is closed at once by the caller), so a
 * slow decode never queues frames nor holds the camera's buffers.
 */
class FrameGate(private val decode: (LumaCrop, done: () -> Unit) -> Unit) {
    private val busy = AtomicBoolean(false)
    private var scratch: ByteArray? = null
    private val taken = AtomicLong()
    private val dropped = AtomicLong()

    val framesTaken: Long get() = taken.get()
    val framesDropped: Long get() = dropped.get()

    /**
     * Offers a frame on the camera's thread. The plane is read before this returns, so the
     * Image can be closed right after. Returns whether the frame went to the decoder.
     */
    fun offer(plane: LumaPlane, region: ScanRegion): Boolean {
        if (!busy.compareAndSet(false, true)) {
            dropped.incrementAndGet()
            return false
        }
        val crop = plane.crop(region, scratch)
        scratch = crop.bytes
        taken.incrementAndGet()
        decode(crop) { busy.set(false) }
        return true
    }
}

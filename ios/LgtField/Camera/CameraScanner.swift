import AVFoundation
import LgtCore
import LgtField
import SwiftUI

/// The back camera through AVFoundation: 4:2:0 bi-planar full-range frames whose plane 0 is the
/// luma the core's scanner takes, with its bytes-per-row as the row stride. Only the rows of the
/// viewfinder's square are copied; a frame that arrives while one is decoding is dropped
/// (`alwaysDiscardsLateVideoFrames`, and the busy flag) without being copied.
final class CameraScanner: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate, @unchecked Sendable {
    let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "cn.lgt.field.camera")
    private let scanner: FieldScanner
    private let onResult: @MainActor (ScanResult) -> Void
    private var busy = false
    private var delivered = false

    init(scanner: FieldScanner, onResult: @escaping @MainActor (ScanResult) -> Void) {
        self.scanner = scanner
        self.onResult = onResult
    }

    func start() {
        queue.async { [self] in
            guard let camera = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back),
                  let input = try? AVCaptureDeviceInput(device: camera) else { return }
            session.beginConfiguration()
            session.sessionPreset = .hd1280x720
            if session.canAddInput(input) { session.addInput(input) }
            let output = AVCaptureVideoDataOutput()
            output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_420YpCbCr8BiPlanarFullRange]
            output.alwaysDiscardsLateVideoFrames = true
            output.setSampleBufferDelegate(self, queue: queue)
            if session.canAddOutput(output) { session.addOutput(output) }
            session.commitConfiguration()
            session.startRunning()
        }
    }

    func stop() {
        queue.async { [self] in session.stopRunning() }
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard !busy, !delivered, let pixels = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        CVPixelBufferLockBaseAddress(pixels, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(pixels, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddressOfPlane(pixels, 0) else { return }
        let width = CVPixelBufferGetWidthOfPlane(pixels, 0)
        let height = CVPixelBufferGetHeightOfPlane(pixels, 0)
        let stride = CVPixelBufferGetBytesPerRowOfPlane(pixels, 0)
        // The viewfinder: the middle square, three quarters of the shorter side.
        let side = min(width, height) * 3 / 4
        let top = (height - side) / 2
        let left = (width - side) / 2
        // Its rows only, as the camera laid them out (stride kept); the last row ends at the width.
        let bytes = Data(bytes: base.advanced(by: top * stride), count: (side - 1) * stride + width)
        let options = ScanOptions(mode: .live, region: ScanRegion(x: UInt32(left), y: 0, width: UInt32(side), height: UInt32(side)), budgetMs: nil)
        busy = true
        Task { [self] in
            defer { queue.async { self.busy = false } }
            guard let result = try? await scanner.scanFrame(bytes, width: UInt32(width), height: UInt32(side), rowStride: UInt32(stride), options: options) else { return }
            queue.async { self.delivered = true }
            await onResult(result)
        }
    }
}

/// The camera's preview, with the scanner running while the view is on screen.
struct ScanView: View {
    let title: String
    let hint: String
    let onResult: @MainActor (ScanResult) -> Void
    @EnvironmentObject var model: AppModel
    @Environment(\.dismiss) private var dismiss
    @State private var camera: CameraScanner?

    var body: some View {
        VStack {
            Text(hint).font(.footnote).foregroundColor(.secondary)
            if let camera { CameraPreview(session: camera.session).frame(height: 360) }
        }
        .navigationTitle(title)
        .privacySensitive()
        .onAppear {
            guard let core = model.core else { return }
            let scanner = CameraScanner(scanner: core.scanner()) { result in
                dismiss()
                onResult(result)
            }
            camera = scanner
            scanner.start()
        }
        .onDisappear { camera?.stop() }
    }
}

struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession

    func makeUIView(context: Context) -> PreviewView {
        let view = PreviewView()
        view.previewLayer.session = session
        view.previewLayer.videoGravity = .resizeAspectFill
        return view
    }

    func updateUIView(_ uiView: PreviewView, context: Context) {}

    final class PreviewView: UIView {
        override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }
        var previewLayer: AVCaptureVideoPreviewLayer { layer as! AVCaptureVideoPreviewLayer }
    }
}

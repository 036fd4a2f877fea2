import HTTPTypes
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The UI assets both generators serve, and small helpers for their JSON API.
public enum TwinStackAssets {
    /// Adds `GET /assets/twin.css` and `GET /assets/charts.js`.
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("assets/twin.css") { _, _ in
            text(stylesheet, contentType: "text/css; charset=utf-8")
        }
        router.get("assets/charts.js") { _, _ in
            text(chartsModule, contentType: "text/javascript; charset=utf-8")
        }
    }

    /// A text response; assets may be cached briefly.
    public static func text(_ body: String, contentType: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType, .cacheControl: "max-age=60"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// An HTML page that is never cached, so a new build shows at once.
    public static func html(_ body: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

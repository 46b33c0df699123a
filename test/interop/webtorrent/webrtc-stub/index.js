// WebRTC is not used by Shoal's interop tests (TCP peers only): any attempt to use it fails loudly.
export class RTCPeerConnection {
  constructor() {
    throw new Error('WebRTC is not available in the Shoal interop WebTorrent peer');
  }
}
export class RTCSessionDescription {}
export class RTCIceCandidate {}
export default { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate };

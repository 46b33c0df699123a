/**
 * Bounds of uTP (BEP 29).
 * Re-exported by src/shared/limits.ts; docs/LIMITS.md is generated from these files.
 */

// --- utp (BEP 29) ---
/** Most extension headers read from one uTP packet; a longer chain is a `UtpTooManyExtensions` error. */
export const MAX_UTP_EXTENSIONS = 8;
/** Smallest uTP datagram we send, in bytes: the IPv4 minimum MTU (576) less the IP and UDP headers. */
export const UTP_MIN_DATAGRAM_BYTES = 576 - 20 - 8;
/** Largest uTP datagram we send or probe for, in bytes: the largest IPv4 UDP payload. */
export const UTP_MAX_DATAGRAM_BYTES = 65_507;
/** Default ceiling of path-MTU probing, in datagram bytes: an Ethernet MTU less the IP and UDP headers. */
export const UTP_DEFAULT_MAX_DATAGRAM_BYTES = 1500 - 20 - 8;
/**
 * Ceiling of path-MTU probing toward a loopback address whose peer declares it takes large
 * datagrams (the loopback MTU, 65536, less the IPv4 and UDP headers, capped at the largest UDP
 * payload), in bytes.
 */
export const UTP_LOOPBACK_DATAGRAM_BYTES = 65_507;
/** Bytes of free send buffers a uTP transport keeps for reuse, whatever the datagram size. */
export const UTP_SEND_POOL_BYTES = 1024 * 1024;
/** Default bytes one uTP connection accepts from its writer before `write` accepts no more. */
export const UTP_SEND_BUFFER_BYTES = 1024 * 1024;
/** Default receive buffer of one uTP connection, in bytes: the most we advertise and buffer for a reader. */
export const UTP_RECEIVE_BUFFER_BYTES = 1024 * 1024;
/** Most uTP packets one connection keeps in flight (sent, not acknowledged); a power of two. */
export const MAX_UTP_PACKETS_IN_FLIGHT = 2048;
/** Most received packets one connection buffers (out of order, or in order for a paused reader); a power of two. */
export const MAX_UTP_RECEIVE_PACKETS = 2048;
/** Smallest retransmission timeout, in ms (BEP 29: "the minimum timeout for a packet is 1/2 second"). */
export const UTP_MIN_RTO_MS = 500;
/** Largest retransmission timeout after back-off, in ms. */
export const UTP_MAX_RTO_MS = 60_000;
/** Retransmission timeout before any round-trip sample, in ms (BEP 29). */
export const UTP_INITIAL_RTO_MS = 1000;
/** Times a SYN is resent before the dial fails with `UtpTimeout`. */
export const MAX_UTP_SYN_RESENDS = 4;
/** Consecutive retransmission timeouts (no ack in between) after which a connection fails with `UtpTimeout`. */
export const MAX_UTP_TIMEOUTS = 8;
/** Idle time after which a connection sends an ST_STATE keep-alive, in ms (below common NAT UDP timeouts). */
export const UTP_KEEPALIVE_MS = 29_000;
/** Time without any packet from the peer after which a connection fails with `UtpTimeout`, in ms. */
export const UTP_IDLE_TIMEOUT_MS = 300_000;
/** Time an accepted connection waits for the dialler's first packet after the SYN, in ms (a half-open bound). */
export const UTP_SYN_RECV_TIMEOUT_MS = 30_000;
/** Time a connection whose FIN was acknowledged waits for the peer's FIN, counted from the peer's last packet, before it closes, in ms (above {@link UTP_MAX_RTO_MS}, so a peer in retransmission back-off is not cut off). */
export const UTP_FIN_LINGER_MS = 90_000;
/**
 * How long a connection that ended cleanly keeps answering the peer's resends with ACKs, counted
 * from the last one, in ms (TCP's TIME-WAIT; the peer may not have our last ACK, and its resends
 * come at most {@link UTP_MAX_RTO_MS} apart). Its buffers are freed meanwhile; a full table
 * evicts such connections first.
 */
export const UTP_TIME_WAIT_MS = 60_000;
/** LEDBAT target queuing delay, in ms (BEP 29 CCONTROL_TARGET). */
export const UTP_TARGET_DELAY_MS = 100;
/** LEDBAT gain: the most the window grows per round trip at zero queuing delay, in bytes. */
export const UTP_GAIN_BYTES_PER_RTT = 3000;
/** How long a base (minimum) one-way delay is remembered, in ms (BEP 29: "the last two minutes"). */
export const UTP_BASE_DELAY_WINDOW_MS = 120_000;
/** Most connections one uTP endpoint (UDP port) holds; further SYNs are refused with ST_RESET. */
export const MAX_UTP_CONNECTIONS = 1024;
/** Most accepted connections that have not yet heard from the dialler after the SYN (SYN_RECV). */
export const MAX_UTP_HALF_OPEN = 64;
/** Most SYNs accepted from one IP address per second; more are dropped. */
export const MAX_UTP_SYNS_PER_IP_PER_SECOND = 20;
/** Most IP addresses the per-IP SYN limiter tracks at once; beyond it, unknown addresses are refused. */
export const MAX_UTP_SYN_RATE_IPS = 4096;
/** Most ST_RESET answers to unknown connections an endpoint sends per second. */
export const MAX_UTP_RESETS_PER_SECOND = 100;

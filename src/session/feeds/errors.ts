/** Errors of feeds (publish and follow, BEP 46). */
import { ShoalError } from '../../shared/errors.js';

/**
 * A feed operation failed: a key file that cannot be used (`SHOAL_ERR_FEED_KEY`), a follower
 * folder whose state is unreadable or belongs to another feed (`SHOAL_ERR_FEED_STATE`), an item
 * whose value is not a BEP 46 `{ih}` (`SHOAL_ERR_FEED_VALUE`), a session without a DHT
 * (`SHOAL_ERR_FEED_NO_DHT`), or a put no DHT node accepted (`SHOAL_ERR_FEED_PUT_FAILED`).
 */
export class FeedError extends ShoalError<{ readonly path?: string; readonly feed?: string }> {}

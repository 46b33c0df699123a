export { FeedError } from './errors.js';
export {
  decodeKeyFile,
  encodeKeyFile,
  FEED_KEY_FILE_TYPE,
  type FeedName,
  feedId,
  feedMagnet,
  parseFeedName,
  readKeyFile,
  saltFromName,
  writeKeyFile,
} from './feed-key.js';
export {
  decodeFeedState,
  encodeFeedState,
  FEED_STATE_VERSION,
  type FeedState,
  type FeedVersionRecord,
} from './feed-state.js';
export * from './feed-types.js';
export { FeedFollower } from './follow.js';
export { FeedPublication, publishFeed } from './publish.js';
export {
  decodePublisherState,
  type PublishedRecord,
  publisherStatePath,
  readPublisherState,
  recordPublication,
} from './publisher-state.js';
export { FEED_CURRENT_LINK, FEED_STATE_DIR, type FeedLayout, feedLayout } from './version-dir.js';

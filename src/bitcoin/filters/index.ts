export { BASIC_FILTER_TYPE, basicFilter, basicFilterItems, buildBasicFilter } from './basic-filter.js';
export {
  CFCHECKPT_INTERVAL,
  chainFilterHeaders,
  filterHash,
  filterHeader,
  verifyFilter,
} from './filter-header.js';
export { BASIC_FILTER_PARAMS, buildGcs, Gcs, type GcsParams } from './gcs.js';
export {
  checkFilterRange,
  type FilterRange,
  type FilterRequestKind,
  maxFilterSpan,
  planFilterRequests,
} from './requests.js';

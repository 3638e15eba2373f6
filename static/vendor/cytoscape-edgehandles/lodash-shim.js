/* The two lodash functions cytoscape-edgehandles takes from the global `_` when it is loaded
   without a bundler (its UMD wrapper reads root._.memoize and root._.throttle). Ours, not
   lodash: memoize caches by the resolver's key (edgehandles passes the node's id; it makes
   a new memo for every drawing gesture); throttle runs at most once per `wait` milliseconds, trailing. */
(function (root) {
  "use strict";
  function memoize(fn, resolver) {
    var cached = function (arg) {
      var key = resolver ? resolver.apply(this, arguments) : arg;
      if (!cached.cache.has(key)) cached.cache.set(key, fn.apply(this, arguments));
      return cached.cache.get(key);
    };
    cached.cache = new Map();
    return cached;
  }
  function throttle(fn, wait) {
    var last = 0, timer = null, args = null, self = null;
    function run() { last = Date.now(); timer = null; fn.apply(self, args); }
    var throttled = function () {
      args = arguments; self = this;
      var left = wait - (Date.now() - last);
      if (left <= 0) { if (timer) { clearTimeout(timer); } run(); }
      else if (!timer) { timer = setTimeout(run, left); }
    };
    throttled.cancel = function () { if (timer) clearTimeout(timer); timer = null; };
    return throttled;
  }
  root._ = root._ || { memoize: memoize, throttle: throttle };
})(window);

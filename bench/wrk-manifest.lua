-- wrk -s bench/wrk-manifest.lua URL -- [METHOD]
--
-- Requests one manifest the way a registry client resolves or fetches it:
-- METHOD (default HEAD) with the Accept list coras sends (Docker manifest and
-- list, OCI manifest and index, OCI artifact manifest).
--
-- wrk 4.1 cannot time HEAD on keep-alive connections: its HTTP parser is
-- never told that a HEAD answer has no body, so it waits for Content-Length
-- bytes that never come (wg/wrk#198). bench/compare.sh therefore probes HEAD
-- once and compares coras with wrk on GET.
wrk.headers["Accept"] = "application/vnd.docker.distribution.manifest.v2+json, "
  .. "application/vnd.docker.distribution.manifest.list.v2+json, "
  .. "application/vnd.oci.image.manifest.v1+json, "
  .. "application/vnd.oci.image.index.v1+json, "
  .. "application/vnd.oci.artifact.manifest.v1+json"

function init(args)
  wrk.method = args[1] or "HEAD"
end

-- No response() here: defining one makes wrk keep every header and body,
-- which slows it down. wrk counts non-2xx/3xx answers itself.
function done(summary, latency, requests)
  if summary.errors.status > 0 then
    io.stderr:write(string.format("wrk: %d answers were not 2xx/3xx\n", summary.errors.status))
  end
end

-- A Momentum policy script, unchanged: Beacon runs it as Momentum would (docs/policy.md).
-- Marketing mail gets open and click tracking on its own tracking domain; everything else is left untracked.
require("msys.core")
require("msys.extended.message")
local mod = {}

function mod:validate_data_spool_each_rcpt(msg, accept, vctx)
  -- per-recipient decisions: turn on tracking for marketing mail only
  local h = msg:header("X-Mail-Class")
  if h and h[1] == "marketing" then
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_open_tracking", "true")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_click_tracking", "1")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_tracking_domain", "trk.example.com")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_click_tracking_scheme", "https")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_open_tracking_scheme", "https")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_tracking_link_expiry", "604800")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_campaign_id", "weekly_digest")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_tags", '["digest","weekly"]')
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_metadata", '{"segment":"B"}')
  else
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_open_tracking", "false")
    msg:context_set(msys.core.ECMESS_CTX_MESS, "smtpapi_click_tracking", "false")
  end
  -- customer id is a connection-level variable
  msg:context_set(msys.core.ECMESS_CTX_CONN, "mo_customer_id", "42")
  return msys.core.VALIDATE_CONT
end

-- Refuse recipients at a domain we never send to, at RCPT time.
function mod:validate_rcptto(msg, rcpt, accept, vctx)
  if rcpt:lower():match("@blocked%.example$") then
    vctx:set_code(550, "5.7.1 Recipient domain is blocked by policy")
    return msys.core.VALIDATE_DONE
  end
  return msys.core.VALIDATE_CONT
end

msys.registerModule("smtpapi_policy", mod)

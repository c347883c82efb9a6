-- Whether the question is about one model over all time with no one left out (no window,
-- deleted rows included, no person or group): what Open WebUI's model overview asks.
($model is not null and $since is null and $until is null and $include_deleted
    and $user_id is null and $group_id is null)

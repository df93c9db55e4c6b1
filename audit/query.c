/* Reading events back: filtered queries and the JSON form for export. */
#include "audit/audit-internal.h"

#include <stdio.h>
#include <string.h>

/* Append one condition to the WHERE clause under construction. */
static void add_condition(char *sql, size_t size, bool *first,
                          const char *cond)
{
    size_t len = strlen(sql);

    snprintf(sql + len, size - len, "%s%s", *first ? " WHERE " : " AND ",
             cond);
    *first = false;
}

static void build_sql(const struct audit_filter *f, char *sql, size_t size)
{
    bool first = true;
    size_t action_len = f->action ? strlen(f->action) : 0;

    snprintf(sql, size, "SELECT " AUDIT_EVENT_COLUMNS " FROM audit_events");
    if (f->chain)
        add_condition(sql, size, &first, "chain = ?1");
    if (f->tenant)
        add_condition(sql, size, &first, "tenant = ?2");
    if (f->since_ns)
        add_condition(sql, size, &first, "time_ns >= ?3");
    if (f->until_ns)
        add_condition(sql, size, &first, "time_ns < ?4");
    if (f->action && action_len > 0 && f->action[action_len - 1] == '*')
        add_condition(sql, size, &first, "substr(action, 1, ?6) = ?5");
    else if (f->action)
        add_condition(sql, size, &first, "action = ?5");
    if (f->actor)
        add_condition(sql, size, &first, "actor = ?7");
    snprintf(sql + strlen(sql), size - strlen(sql), "%s",
             f->chain ? " ORDER BY seq" : " ORDER BY time_ns, chain, seq");
    if (f->limit > 0)
        snprintf(sql + strlen(sql), size - strlen(sql), " LIMIT %lld",
                 (long long)f->limit);
}

static void bind_filter(sqlite3_stmt *st, const struct audit_filter *f)
{
    size_t action_len = f->action ? strlen(f->action) : 0;

    if (f->chain)
        sqlite3_bind_text(st, 1, f->chain, -1, SQLITE_STATIC);
    if (f->tenant)
        sqlite3_bind_text(st, 2, f->tenant, -1, SQLITE_STATIC);
    if (f->since_ns)
        sqlite3_bind_int64(st, 3, f->since_ns);
    if (f->until_ns)
        sqlite3_bind_int64(st, 4, f->until_ns);
    if (f->action && action_len > 0 && f->action[action_len - 1] == '*') {
        sqlite3_bind_text(st, 5, f->action, (int)action_len - 1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)action_len - 1);
    } else if (f->action) {
        sqlite3_bind_text(st, 5, f->action, -1, SQLITE_STATIC);
    }
    if (f->actor)
        sqlite3_bind_text(st, 7, f->actor, -1, SQLITE_STATIC);
}

int audit_query(sqlite3 *db, const struct audit_filter *filter,
                audit_query_fn fn, void *userdata, struct werr *err)
{
    static const struct audit_filter none;
    const struct audit_filter *f = filter ? filter : &none;
    sqlite3_stmt *st = NULL;
    char sql[1024];
    int rc, r = 0;

    if (f->chain && (r = audit_chain_name_check(f->chain, err)) < 0)
        return r;
    build_sql(f, sql, sizeof(sql));
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return audit_sql_fail(db, rc, err, "preparing an audit query");
    bind_filter(st, f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct audit_event ev;

        audit_event_from_row(st, 0, &ev);
        if ((r = fn(&ev, userdata)) < 0)
            break;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = audit_sql_fail(db, rc, err, "reading audit events");
    sqlite3_finalize(st);
    return r < 0 ? r : 0;
}

static int set_text(json_t *obj, const char *key, const char *value)
{
    json_t *v = value ? json_string(value) : json_null();

    /* json_string() returns NULL for invalid UTF-8 in a tampered row. */
    if (!v)
        v = json_null();
    return json_object_set_new(obj, key, v);
}

static int set_hex(json_t *obj, const char *key, const unsigned char *hash)
{
    char hex[AUDIT_HEX_SIZE];

    audit_hex(hash, AUDIT_HASH_SIZE, hex);
    return json_object_set_new(obj, key, json_string(hex));
}

json_t *audit_event_to_json(const struct audit_event *ev)
{
    json_t *obj = json_object();
    json_t *details;
    char time_text[32];
    int r = 0;

    if (!obj)
        return NULL;
    details = ev->details_json ? json_loads(ev->details_json, 0, NULL)
                               : json_incref(ev->details);
    /* A tampered row may hold text that is not JSON: show it as a string. */
    if (!details && ev->details_json)
        details = json_string(ev->details_json);
    if (!details)
        details = json_object();
    audit_time_format(ev->time_ns, time_text);
    r |= set_text(obj, "chain", ev->chain);
    r |= json_object_set_new(obj, "seq", json_integer(ev->seq));
    r |= set_text(obj, "time", time_text);
    r |= json_object_set_new(obj, "time_ns", json_integer(ev->time_ns));
    r |= set_text(obj, "actor", ev->actor);
    r |= json_object_set_new(obj, "uid", json_integer(ev->uid));
    r |= set_text(obj, "tenant", ev->tenant);
    r |= set_text(obj, "action", ev->action);
    r |= set_text(obj, "object", ev->object);
    r |= set_text(obj, "result", ev->result);
    r |= json_object_set_new(obj, "details", details);
    r |= set_text(obj, "recording", ev->recording);
    r |= set_text(obj, "recording_sha256", ev->recording_sha256);
    r |= set_hex(obj, "prev", ev->prev);
    r |= set_hex(obj, "hash", ev->hash);
    if (r != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

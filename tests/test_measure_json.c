/* test_measure_json.c — `dlmem measure --format json` (schema dlmem.measure/1)
 * without a GPU: every row of the runtime measurements committed under
 * data/measured/ (real H200 and H100 sweeps) is written by the same function
 * the sweep uses (dlm_measure_row_json), parsed back with jansson, and each
 * field compared with the CSV cell it came from: integers for bytes, batch,
 * seq, tf32, repeat and sm (equal to the cell), numbers for the times, strings
 * for the rest, null for an empty cell.  A file written before the set column
 * (the last) existed is read as the defaults: set null.  A damaged cell is a
 * one-line error naming the column. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/csv.h"
#include "core/paths.h"
#include "core/status.h"
#include "measure/measure.h"
#include "tap.h"

#ifdef HAVE_JANSSON
#include <jansson.h>

/* One row through the writer into a document {"dlmem_version","schema","points":[row]}. */
static json_t *row_doc(const char *const *cells, int n, dlm_status *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    dlm_json j;
    dlm_json_init(&j, f, "dlmem.measure/1");
    dlm_json_obj_begin(&j);
    dlm_json_key(&j, "points");
    dlm_json_arr_begin(&j);
    *st = dlm_measure_row_json(&j, cells, n);
    json_t *doc = NULL;
    if (*st == DLM_OK) {
        dlm_json_arr_end(&j);
        dlm_json_obj_end(&j);
        *st = dlm_json_finish(&j);
    } else {
        dlm_json_free(&j);
    }
    fclose(f);
    if (*st == DLM_OK) doc = json_loads(buf, 0, NULL);
    free(buf);
    return doc;
}

static int is_int_col(const char *c)
{
    size_t n = strlen(c);
    return !strcmp(c, "batch") || !strcmp(c, "seq") || !strcmp(c, "tf32") ||
           !strcmp(c, "repeat") || !strcmp(c, "sm") || (n > 6 && !strcmp(c + n - 6, "_bytes"));
}

static void check_file(const char *rel)
{
    char path[1024];
    dlm_csv *c = NULL;
    if (!dlm_data_path(rel, path, sizeof path) || dlm_csv_read(path, &c) != DLM_OK) {
        TAP_OK(0, "%s: read", rel);
        return;
    }
    int ncol, bad = 0, rows = 0, oom = 0;
    const char *const *col = dlm_measure_columns(&ncol);
    /* the writer's columns, or all but the last, set (a file from before it) */
    int same = (c->ncols == ncol || c->ncols == ncol - 1) && !strcmp(col[ncol - 1], "set");
    for (int k = 0; same && k < c->ncols; k++) same = !strcmp(c->header[k], col[k]);
    TAP_OK(same, "%s: the header is the writer's %d columns%s", rel, c->ncols,
           c->ncols < ncol ? " (before the set column: the defaults)" : "");
    for (int r = 0; r < c->nrows && same; r++) {
        const char *cells[128];
        for (int k = 0; k < ncol; k++) cells[k] = k < c->ncols ? dlm_csv_get(c, r, k) : "";
        dlm_status st;
        json_t *doc = row_doc(cells, ncol, &st);
        json_t *pt = doc ? json_array_get(json_object_get(doc, "points"), 0) : NULL;
        if (!pt || strcmp(json_string_value(json_object_get(doc, "schema")), "dlmem.measure/1")) {
            bad++;
            json_decref(doc);
            continue;
        }
        rows++;
        if (!strcmp(cells[8], "oom")) oom++;
        for (int k = 0; k < ncol; k++) {
            json_t *v = json_object_get(pt, col[k]);
            int ok;
            if (!*cells[k]) ok = json_is_null(v);
            else if (is_int_col(col[k])) ok = json_is_integer(v) &&
                                              json_integer_value(v) == strtoll(cells[k], NULL, 10);
            else if (strstr(col[k], "_ms")) ok = json_is_number(v) &&
                                                 json_number_value(v) == strtod(cells[k], NULL);
            else ok = json_is_string(v) && !strcmp(json_string_value(v), cells[k]);
            if (!ok) {
                if (bad < 5) printf("# %s row %d column %s: '%s' not written as it reads\n", rel,
                                    r + 2, col[k], cells[k]);
                bad++;
            }
        }
        if ((int)json_object_size(pt) != ncol) bad++; /* one field a column, no more */
        json_decref(doc);
    }
    TAP_OK(rows == c->nrows && rows > 0 && bad == 0,
           "%s: %d rows (%d out of memory) as JSON, every field typed by column and equal to its "
           "cell (%d differ)", rel, rows, oom, bad);
    dlm_csv_free(c);
}

int main(void)
{
    if (!dlm_json_available()) {
        printf("1..0 # SKIP built without jansson: no JSON output\n");
        return 0;
    }
    static const char *files[] = {"measured/resnet18-infer-h200.csv", "measured/lstm-infer-h200.csv",
                                  "measured/bert-infer-h200.csv", "measured/resnet18-infer-h100.csv",
                                  "measured/lstm-infer-h100.csv", "measured/bert-infer-h100.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) check_file(files[i]);

    /* damage: a size that is not an integer, a time that is not a number */
    int ncol;
    const char *const *col = dlm_measure_columns(&ncol);
    const char *cells[128];
    for (int k = 0; k < ncol; k++) cells[k] = is_int_col(col[k]) ? "1" : "x";
    for (int k = 0; k < ncol; k++)
        if (strstr(col[k], "_ms")) cells[k] = "0.5";
    dlm_status st;
    json_t *doc = row_doc(cells, ncol, &st);
    TAP_OK(doc && st == DLM_OK, "a well-typed row writes");
    json_decref(doc);
    /* the knobs: a string as recorded, or null for the defaults */
    TAP_STREQ(col[ncol - 1], "set", "the last column is set, the model's knobs");
    cells[ncol - 1] = "height=160;base=32";
    doc = row_doc(cells, ncol, &st);
    json_t *pk = doc ? json_array_get(json_object_get(doc, "points"), 0) : NULL;
    TAP_OK(pk && json_is_string(json_object_get(pk, "set")) &&
               !strcmp(json_string_value(json_object_get(pk, "set")), "height=160;base=32"),
           "a set cell is written as the string it records");
    json_decref(doc);
    cells[ncol - 1] = "";
    doc = row_doc(cells, ncol, &st);
    pk = doc ? json_array_get(json_object_get(doc, "points"), 0) : NULL;
    TAP_OK(pk && json_is_null(json_object_get(pk, "set")), "an empty set (the defaults) is null");
    json_decref(doc);
    for (int k = 0; k < ncol; k++)
        if (!strcmp(col[k], "peak_bytes")) cells[k] = "12MiB";
    doc = row_doc(cells, ncol, &st);
    TAP_OK(!doc && st == DLM_EPARSE && strstr(dlm_errmsg(), "peak_bytes") &&
               !strchr(dlm_errmsg(), '\n'),
           "a size that is not an integer: one line naming the column (%s)", dlm_errmsg());
    for (int k = 0; k < ncol; k++)
        if (!strcmp(col[k], "peak_bytes")) cells[k] = "1";
        else if (!strcmp(col[k], "median_ms")) cells[k] = "fast";
    doc = row_doc(cells, ncol, &st);
    TAP_OK(!doc && st == DLM_EPARSE && strstr(dlm_errmsg(), "median_ms"),
           "a time that is not a number: an error naming the column (%s)", dlm_errmsg());
    /* an out-of-memory point: its sizes and times are null, not 0 */
    for (int k = 0; k < ncol; k++) {
        if (!strcmp(col[k], "status")) cells[k] = "oom";
        else if ((k >= 9 && k <= 26) || strstr(col[k], "_ms")) cells[k] = "";
        else if (is_int_col(col[k])) cells[k] = "1";
        else cells[k] = "x";
    }
    doc = row_doc(cells, ncol, &st);
    json_t *pt = doc ? json_array_get(json_object_get(doc, "points"), 0) : NULL;
    TAP_OK(pt && json_is_null(json_object_get(pt, "peak_bytes")) &&
               json_is_null(json_object_get(pt, "median_ms")) &&
               json_is_integer(json_object_get(pt, "context_bytes")) &&
               !strcmp(json_string_value(json_object_get(pt, "status")), "oom"),
           "an out-of-memory point: peak and time null, the context an integer");
    json_decref(doc);
    doc = row_doc(cells, ncol - 1, &st);
    TAP_OK(!doc && st == DLM_EINTERNAL, "a row one cell short is refused");
    return tap_done();
}
#else
int main(void)
{
    printf("1..0 # SKIP built without jansson: no JSON output\n");
    return 0;
}
#endif

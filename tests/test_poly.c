/* test_poly.c — polynomial sizes: arithmetic, evaluation, formatting, overflow. */
#include "core/poly.h"
#include "tap.h"

int main(void)
{
    char buf[256];
    dlm_poly B = dlm_poly_B(), T = dlm_poly_T();

    /* conv1 output of ResNet18 at 224x224: 64*112*112*B. */
    dlm_poly conv1 = dlm_poly_mul(dlm_poly_const(64 * 112 * 112), B);
    TAP_EQ(dlm_poly_eval(&conv1, 1, 0), 802816, "64*112*112*B at B=1");
    TAP_EQ(dlm_poly_eval(&conv1, 128, 0), 802816LL * 128, "... at B=128");
    dlm_poly_format(&conv1, buf, sizeof buf);
    TAP_STREQ(buf, "802816*B", "formats as 802816*B");

    /* Attention scores B*12*T*T plus B*T*768: degree 2 in T. */
    dlm_poly scores = dlm_poly_scale(dlm_poly_mul(B, dlm_poly_mul(T, T)), 12);
    dlm_poly hid = dlm_poly_scale(dlm_poly_mul(B, T), 768);
    dlm_poly s = dlm_poly_add(dlm_poly_add(scores, hid), dlm_poly_const(3));
    dlm_poly_format(&s, buf, sizeof buf);
    TAP_STREQ(buf, "12*B*T^2 + 768*B*T + 3", "terms print highest degree first");
    TAP_EQ(dlm_poly_deg_T(&s), 2, "degree in T is 2");
    TAP_EQ(dlm_poly_deg_B(&s), 1, "degree in B is 1");
    TAP_EQ(dlm_poly_eval(&s, 8, 512), 12LL * 8 * 512 * 512 + 768LL * 8 * 512 + 3,
           "evaluates at B=8, T=512");
    TAP_CLOSE(dlm_poly_evalf(&s, 8, 512), 12.0 * 8 * 512 * 512 + 768.0 * 8 * 512 + 3, 1e-15, 0,
              "double evaluation agrees");

    dlm_poly d = dlm_poly_sub(s, scores);
    TAP_OK(dlm_poly_equal(&d, &(dlm_poly){0}) == 0 && dlm_poly_deg_T(&d) == 1,
           "subtraction removes the T^2 term");
    dlm_poly neg = dlm_poly_sub(dlm_poly_const(0), hid);
    dlm_poly_format(&neg, buf, sizeof buf);
    TAP_STREQ(buf, "-768*B*T", "negative leading term");
    dlm_poly zero = dlm_poly_const(0);
    dlm_poly_format(&zero, buf, sizeof buf);
    TAP_STREQ(buf, "0", "zero prints as 0");
    TAP_OK(dlm_poly_is_const(&zero) && dlm_poly_is_zero(&zero), "zero is constant and zero");

    /* Degree overflow is sticky, not silent. */
    dlm_poly t3 = dlm_poly_mul(dlm_poly_mul(T, T), T);
    TAP_OK(!t3.bad, "T^3 fits");
    dlm_poly t4 = dlm_poly_mul(t3, T);
    TAP_OK(t4.bad, "T^4 sets the overflow flag");
    dlm_poly big = dlm_poly_scale(dlm_poly_const(INT64_MAX / 2), 3);
    TAP_OK(big.bad, "int64 overflow sets the flag");
    TAP_OK(dlm_poly_add(big, B).bad, "the flag survives addition");

    /* Scaled formatting for people. */
    dlm_poly bytes = dlm_poly_add(dlm_poly_const(46800000), dlm_poly_scale(B, 3200000));
    dlm_poly_format_scaled(&bytes, 1e-6, "MB", buf, sizeof buf);
    TAP_STREQ(buf, "3.2 MB*B + 46.8 MB", "scaled formula");
    size_t need = dlm_poly_format(&s, buf, 5);
    TAP_OK(need == strlen("12*B*T^2 + 768*B*T + 3") && strlen(buf) == 4,
           "short buffer: truncated, full length returned");
    return tap_done();
}

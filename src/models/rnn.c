/* rnn.c — the seed's recurrent network: nn.LSTM (or nn.GRU) over a sequence,
 * then nn.Linear on the last time step, as the seed's script builds it:
 *
 *     out, _ = self.lstm(x)      # x (T, B, input), out (T, B, hidden)
 *     return self.fc(out[-1])    # (B, classes)
 *
 * Module names "lstm" (or "gru") and "fc".  out[-1] is a view: it keeps the
 * whole of `out` alive for as long as it is used.
 */
#include "models.h"

dlm_status dlm_build_rnn(const dlm_model_config *cfg, dlm_graph *g)
{
    dlm_rnn_cell cell = (dlm_rnn_cell)cfg->info->variant;
    const char *mod = cell == DLM_RNN_LSTM ? "lstm" : "gru";
    dlm_poly shape[3] = {dlm_poly_T(), dlm_poly_B(),
                         dlm_poly_const(dlm_model_knob(cfg, "input"))};
    int x = dlm_graph_input(g, "x", DLM_EL_FLOAT, 3, shape);
    int y = dlm_rnn(g, mod, cell, x, (int)dlm_model_knob(cfg, "hidden"),
                    (int)dlm_model_knob(cfg, "layers"), 1);
    y = dlm_select(g, "last", y, 0, -1);
    y = dlm_linear(g, "fc", y, (int)dlm_model_knob(cfg, "classes"), 1);
    dlm_graph_mark_output(g, y);
    return dlm_graph_status(g);
}

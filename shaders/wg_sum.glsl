// wg_sum.glsl: wg_sum(v), the sum of v over the workgroup, returned to
// every invocation: subgroupAdd within each subgroup, then one value per
// subgroup through shared memory (any subgroup size). Call it from
// workgroup-uniform control flow. The includer declares the WG
// specialization constant (the local size, layout(constant_id = 0)) and
// enables GL_KHR_shader_subgroup_basic and _arithmetic.
shared float wg_sum_part[WG];

float wg_sum(float v) {
    v = subgroupAdd(v);
    if (subgroupElect()) wg_sum_part[gl_SubgroupID] = v;
    barrier();
    float t = 0.0;
    for (uint k = 0; k < gl_NumSubgroups; k++) t += wg_sum_part[k];
    barrier();
    return t;
}

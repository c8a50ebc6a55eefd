// Closes a use of the function table (see open_table.hpp).

#undef VAR
#pragma pop_macro("VAR")
#undef OPT_VAR
#pragma pop_macro("OPT_VAR")
#undef REAL
#pragma pop_macro("REAL")
#undef FLOAT
#pragma pop_macro("FLOAT")
#undef INT
#pragma pop_macro("INT")
#undef FLAG
#pragma pop_macro("FLAG")
#undef INTS
#pragma pop_macro("INTS")
#undef SHAPE
#pragma pop_macro("SHAPE")
#undef AXIS
#pragma pop_macro("AXIS")
#undef SPATIAL
#pragma pop_macro("SPATIAL")
#undef INTS_REQ
#pragma pop_macro("INTS_REQ")
#undef SHAPE_REQ
#pragma pop_macro("SHAPE_REQ")
#undef NNVAE_FUNCTION
#pragma pop_macro("NNVAE_FUNCTION")
